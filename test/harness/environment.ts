// The integration tests' jest environment: Node's, plus the leak check, which
// runs in teardown, after every hook of the file (its own afterAll included).
import NodeEnvironment from 'jest-environment-node';
import { leaksBetween, snapshot, type Snapshot } from './leaks';
import { testBaseDir } from './paths';

const SETTLE_MS = 5000;

export default class KrillIntegrationEnvironment extends NodeEnvironment {
  private before: Snapshot | undefined;

  override async setup(): Promise<void> {
    await super.setup();
    testBaseDir();
    this.before = snapshot();
  }

  override async teardown(): Promise<void> {
    await super.teardown();
    if (!this.before) return;
    const runId = process.env.KRILL_IT_RUN!;
    // Teardown is partly asynchronous (a conmon exiting, a netns released): give it a moment.
    const deadline = Date.now() + SETTLE_MS;
    let leaks = leaksBetween(this.before, snapshot(), runId);
    while (leaks.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      leaks = leaksBetween(this.before, snapshot(), runId);
    }
    if (leaks.length > 0) {
      throw new Error(`this test file leaked ${leaks.length} resource(s):\n  ${leaks.join('\n  ')}`);
    }
  }
}
