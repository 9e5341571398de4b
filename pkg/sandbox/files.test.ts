import { PodSandboxState } from '../../api/runtime/v1/api';
import { silentLogger } from '../log/logger';
import { hasDnsSettings, hostnameContent, hostsContent, resolvConfContent } from './files';
import { matchesFilter } from './filter';
import { parseNetDev } from './netdev';
import { clampOomScoreAdj } from './oom';
import { Undo } from '../util/undo';

test('hostname and hosts files', () => {
  expect(hostnameContent('web-0')).toBe('web-0\n');
  const hosts = hostsContent('web-0', ['10.88.0.5', 'fd00::5']);
  expect(hosts.startsWith('127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n')).toBe(true);
  expect(hosts.endsWith('10.88.0.5\tweb-0\nfd00::5\tweb-0\n')).toBe(true);
});

test('resolv.conf from DNS settings', () => {
  expect(resolvConfContent({ servers: ['10.96.0.10', '10.96.0.11'], searches: ['a.svc', 'svc'], options: ['ndots:5', 'timeout:2'] })).toBe(
    'search a.svc svc\nnameserver 10.96.0.10\nnameserver 10.96.0.11\noptions ndots:5 timeout:2\n',
  );
  expect(resolvConfContent({ servers: ['1.1.1.1'], searches: [], options: [] })).toBe('nameserver 1.1.1.1\n');
  expect(hasDnsSettings({ servers: [], searches: [], options: [] })).toBe(false);
  expect(hasDnsSettings(undefined)).toBe(false);
});

test('/proc/net/dev without loopback', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0
  eth0:    1690      19    3    4    0     0          0         0      542        7    1    5    0     0       0          0
`;
  expect(parseNetDev(text)).toEqual([
    { name: 'eth0', rxBytes: 1690n, rxPackets: 19n, rxErrors: 3n, rxDropped: 4n, txBytes: 542n, txPackets: 7n, txErrors: 1n, txDropped: 5n },
  ]);
});

test('list filters', () => {
  const item = { id: 'abc123', state: PodSandboxState.SANDBOX_READY, labels: { app: 'web', tier: 'fe' } };
  expect(matchesFilter(item, undefined)).toBe(true);
  expect(matchesFilter(item, { id: 'abc' })).toBe(true);
  expect(matchesFilter(item, { id: 'abd' })).toBe(false);
  expect(matchesFilter(item, { state: PodSandboxState.SANDBOX_NOTREADY })).toBe(false);
  expect(matchesFilter(item, { state: PodSandboxState.SANDBOX_READY, labelSelector: { app: 'web' } })).toBe(true);
  expect(matchesFilter(item, { labelSelector: { app: 'web', tier: 'be' } })).toBe(false);
});

test('oom_score_adj is clamped to the floor and the valid range', () => {
  expect(clampOomScoreAdj(-998, 0)).toBe(0);
  expect(clampOomScoreAdj(-998, -999)).toBe(-998);
  expect(clampOomScoreAdj(500, 0)).toBe(500);
  expect(clampOomScoreAdj(5000, -1000)).toBe(1000);
});

test('undo runs every step in reverse, past failures', async () => {
  const order: string[] = [];
  const undo = new Undo();
  undo.add('a', async () => void order.push('a'));
  undo.add('b', async () => {
    order.push('b');
    throw new Error('b failed');
  });
  undo.add('c', async () => void order.push('c'));
  expect(await undo.run(silentLogger())).toEqual(['b']);
  expect(order).toEqual(['c', 'b', 'a']);
  expect(await undo.run(silentLogger())).toEqual([]);
});
