// The one place the integration tests find crictl (cri-tools): KRILL_CRICTL
// when set, then the test bed's build (`hack/testbed build cri-tools`, which
// `make test` runs first), then PATH. Tests that drive crictl use
// `crictlDescribe`/`crictlTest`: they skip when it is absent, and a skip that
// test/jest/allowed-skips.js does not list fails a strict run (make test).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where `hack/testbed build` links the tools it builds (KRILL_TESTBED_CACHE moves it, as in hack/testbed). */
export const TESTBED_BIN = join(process.env.KRILL_TESTBED_CACHE ?? '/var/cache/krill-testbed', 'bin');

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The crictl binary the tests use, or undefined when there is none. */
export function findCrictl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.KRILL_CRICTL) return executable(env.KRILL_CRICTL) ? env.KRILL_CRICTL : undefined;
  const candidates = [join(TESTBED_BIN, 'crictl'), ...(env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'crictl'))];
  return candidates.find(executable);
}

const found = findCrictl();

/** True when crictl was found. */
export const HAVE_CRICTL = found !== undefined;

/** The path of crictl (a name that fails to spawn when it is absent; the tests that use it skip then). */
export const CRICTL = found ?? 'crictl';

/** Why the crictl tests skip, printed once per file when they do. */
export const CRICTL_MISSING = `crictl not found (KRILL_CRICTL, ${TESTBED_BIN}, PATH): run \`hack/testbed build cri-tools\` (make test does)`;

if (!HAVE_CRICTL) console.warn(`crictl tests skipped: ${CRICTL_MISSING}`);

/** `describe` when crictl is there, `describe.skip` when not. */
export const crictlDescribe: jest.Describe = HAVE_CRICTL ? describe : describe.skip;

/** `test` when crictl is there, `test.skip` when not. */
export const crictlTest: jest.It = HAVE_CRICTL ? test : test.skip;

