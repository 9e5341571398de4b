import type { ContainerStatus } from '../../api/runtime/v1/api';
import { newestFirst } from './pod_containers';

const status = (id: string, createdAt: bigint): ContainerStatus => ({ id, createdAt }) as ContainerStatus;

describe('newestFirst', () => {
  test('orders container statuses newest first, as kubelet expects of PodSandboxStatus', () => {
    // A restarted container: the old attempt (created first) must not come before the new one.
    const list = [status('old', 1_000n), status('other', 3_000n), status('new', 2_000n)];
    expect(newestFirst(list).map((s) => s.id)).toEqual(['other', 'new', 'old']);
    expect(list.map((s) => s.id)).toEqual(['old', 'other', 'new']);
  });
  test('keeps the order of statuses created at the same time', () => {
    expect(newestFirst([status('a', 5n), status('b', 5n)]).map((s) => s.id)).toEqual(['a', 'b']);
  });
});
