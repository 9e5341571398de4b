import { addressesFromIpJson, decideDefaultSubnets, networkOf } from './default_subnets';

describe('networkOf', () => {
  test('the network of an address with its prefix', () => {
    expect(networkOf('10.88.0.1/16')).toBe('10.88.0.0/16');
    expect(networkOf('10.200.5.1/24')).toBe('10.200.5.0/24');
    expect(networkOf('10.77.0.0/16')).toBe('10.77.0.0/16');
    expect(networkOf('fd60::1/64')).toBe('fd60:0:0:0:0:0:0:0/64');
    expect(networkOf('fd60:0:0:0::/64')).toBe('fd60:0:0:0:0:0:0:0/64');
    expect(() => networkOf('10.0.0.1')).toThrow('not a CIDR');
  });
});

describe('decideDefaultSubnets', () => {
  const wanted = ['10.77.0.0/16'];

  test('no bridge yet, or one of the wanted subnet: the wanted subnets, nothing deleted', () => {
    expect(decideDefaultSubnets(wanted, { exists: false, addresses: [], ports: 0 })).toEqual({ subnets: wanted, deleteBridge: false });
    expect(decideDefaultSubnets(wanted, { exists: true, addresses: ['10.77.0.1/16'], ports: 5 })).toEqual({ subnets: wanted, deleteBridge: false });
    expect(decideDefaultSubnets(wanted, { exists: true, addresses: [], ports: 0 })).toEqual({ subnets: wanted, deleteBridge: false });
  });

  test('an idle bridge with an address of another subnet is deleted for the wanted one', () => {
    expect(decideDefaultSubnets(wanted, { exists: true, addresses: ['10.200.5.1/24'], ports: 0 })).toEqual({ subnets: wanted, deleteBridge: true });
  });

  test('a bridge with pods keeps its subnet until they are gone', () => {
    const d = decideDefaultSubnets(wanted, { exists: true, addresses: ['10.200.5.1/24'], ports: 2 });
    expect(d).toMatchObject({ subnets: ['10.200.5.0/24'], deleteBridge: false });
    expect(d.pending).toContain('10.77.0.0/16 waits until the 2 pod interface(s)');
  });

  test('dual stack: each family compared with the wanted ones', () => {
    const both = ['10.77.0.0/16', 'fd77::/64'];
    expect(decideDefaultSubnets(both, { exists: true, addresses: ['10.77.0.1/16', 'fd77::1/64'], ports: 1 })).toEqual({ subnets: both, deleteBridge: false });
    expect(decideDefaultSubnets(both, { exists: true, addresses: ['10.77.0.1/16', 'fd00::1/64'], ports: 0 }).deleteBridge).toBe(true);
  });
});

describe('addressesFromIpJson', () => {
  test('IPv4 and global IPv6 addresses of a bridge that is down', () => {
    const json = JSON.stringify([
      {
        ifname: 'kbk0',
        operstate: 'DOWN',
        addr_info: [
          { family: 'inet', local: '10.202.172.1', prefixlen: 24, scope: 'global' },
          { family: 'inet6', local: 'fe80::407f:60ff:fe92:670e', prefixlen: 64, scope: 'link' },
          { family: 'inet6', local: 'fd77::1', prefixlen: 64, scope: 'global' },
        ],
      },
    ]);
    expect(addressesFromIpJson(json)).toEqual(['10.202.172.1/24', 'fd77::1/64']);
    expect(addressesFromIpJson('[]')).toEqual([]);
  });
});
