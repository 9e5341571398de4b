import type { ContainerStatus } from '../../api/runtime/v1/api';
import { withPodContainers } from './container_events';

const status = (id: string, state = 0): ContainerStatus => ({ id, state }) as ContainerStatus;

describe('withPodContainers', () => {
  test("an event carries every container of the pod, the event's own first and as of the event", () => {
    const own = status('b', 2); // exited, as the event says
    const pod = [status('c'), status('b', 1), status('a', 2)];
    expect(withPodContainers(own, pod)).toEqual([status('b', 2), status('c'), status('a', 2)]);
  });
  test('a container already gone from the pod (a DELETED event) is still the first', () => {
    expect(withPodContainers(status('x', 2), [status('y', 1)]).map((s) => s.id)).toEqual(['x', 'y']);
  });
});
