import { REMOTECOMMAND_SPDY_PROTOCOLS, headerList, negotiate, spdyProtocolVersion } from './protocols';

describe('protocol negotiation', () => {
  test('header values may repeat and hold comma-separated lists', () => {
    expect(headerList(['v5.channel.k8s.io', 'v4.channel.k8s.io, v3.channel.k8s.io', ' ,'])).toEqual(['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io']);
    expect(headerList('portforward.k8s.io')).toEqual(['portforward.k8s.io']);
    expect(headerList(undefined)).toEqual([]);
  });

  test('the client’s first protocol that the server knows wins', () => {
    // crictl 1.32 offers v5 first over SPDY; kubelet (and Krill) answer v4 there.
    expect(negotiate(['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io'], REMOTECOMMAND_SPDY_PROTOCOLS)).toBe('v4.channel.k8s.io');
    expect(negotiate(['channel.k8s.io', 'v4.channel.k8s.io'], REMOTECOMMAND_SPDY_PROTOCOLS)).toBe('channel.k8s.io');
    expect(negotiate(['v9.channel.k8s.io'], REMOTECOMMAND_SPDY_PROTOCOLS)).toBeUndefined();
  });

  test('SPDY protocol names map to remotecommand versions', () => {
    expect(REMOTECOMMAND_SPDY_PROTOCOLS.map(spdyProtocolVersion)).toEqual([4, 3, 2, 1]);
    expect(spdyProtocolVersion('')).toBe(1);
  });
});
