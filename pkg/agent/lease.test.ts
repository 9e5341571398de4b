import { chooseLease, leaseNames, type LeaseView } from './lease';

const now = 1_000_000;
const lease = (name: string, holder: string, renewAgoS = 1, exists = true): LeaseView => ({ name, exists, holder, renewTime: now - renewAgoS * 1000, durationSeconds: 60 });
const alive = (n: string) => ['n1', 'n2', 'n3'].includes(n);

test('the pool names', () => expect(leaseNames(2)).toEqual(['krill-restart-0', 'krill-restart-1']));

test('a Lease this node holds is kept', () => {
  expect(chooseLease([lease('krill-restart-0', 'n2'), lease('krill-restart-1', 'n1')], 'n1', alive, now)).toEqual({ action: 'held', name: 'krill-restart-1' });
});

test('a missing Lease is created', () => {
  expect(chooseLease([lease('krill-restart-0', 'n2'), lease('krill-restart-1', '', 0, false)], 'n1', alive, now)).toEqual({ action: 'create', name: 'krill-restart-1' });
});

test('a released, expired or orphaned Lease is taken over; a live one is waited for', () => {
  expect(chooseLease([lease('krill-restart-0', '')], 'n1', alive, now)).toEqual({ action: 'take', name: 'krill-restart-0' });
  expect(chooseLease([lease('krill-restart-0', 'n2', 61)], 'n1', alive, now)).toEqual({ action: 'take', name: 'krill-restart-0' });
  expect(chooseLease([lease('krill-restart-0', 'gone-node', 1)], 'n1', alive, now)).toEqual({ action: 'take', name: 'krill-restart-0' });
  expect(chooseLease([lease('krill-restart-0', 'n2', 59)], 'n1', alive, now)).toEqual({ action: 'wait' });
});
