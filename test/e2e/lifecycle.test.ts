// Pod lifecycle through kubelet (generic PLEG): Deployments, crashes and
// back-off, init containers, a shared network namespace.
import { lifecycleTests } from './harness/lifecycle';

describe('pod lifecycle through kubelet', () => {
  lifecycleTests('lifecycle');
});
