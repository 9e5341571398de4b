// Runs around every integration test file: whatever the file leaves behind
// (mount, network namespace, veth, cgroup, process) fails the run.
import { leaksBetween, snapshot, type Snapshot } from './leaks';
import { testBaseDir } from './paths';

const SETTLE_MS = 5000;

let before: Snapshot;

beforeAll(() => {
  testBaseDir();
  before = snapshot();
});

afterAll(async () => {
  const runId = process.env.KRILL_IT_RUN!;
  // Teardown is partly asynchronous (a conmon exiting, a netns released): give it a moment.
  const deadline = Date.now() + SETTLE_MS;
  let leaks = leaksBetween(before, snapshot(), runId);
  while (leaks.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    leaks = leaksBetween(before, snapshot(), runId);
  }
  if (leaks.length > 0) {
    throw new Error(`this test file leaked ${leaks.length} resource(s):\n  ${leaks.join('\n  ')}`);
  }
});
