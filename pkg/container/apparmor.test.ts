// The host side of AppArmor: this machine's kernel has none, so loading is
// shown with stand-in parsers, and the profile's text is compiled (not
// loaded) by the real apparmor_parser when it is installed.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultAppArmorProfile } from '../oci/apparmor_profile';
import { DirectLauncher } from '../spawn/launcher';
import { loadDefaultAppArmorProfile } from './apparmor';

const launcher = new DirectLauncher();

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'apparmor-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeParser(script: string): string {
  const p = join(dir, `parser-${Math.random().toString(36).slice(2)}`);
  writeFileSync(p, `#!/bin/sh\n${script}\n`);
  chmodSync(p, 0o755);
  return p;
}

test('a parser that fails, or is missing, gives the reason instead of a profile', async () => {
  expect(await loadDefaultAppArmorProfile(launcher, fakeParser('echo "syntax error at line 3" >&2; exit 1'))).toEqual({
    error: expect.stringMatching(/failed \(1\): syntax error at line 3/),
  });
  expect(await loadDefaultAppArmorProfile(launcher, join(dir, 'no-such-parser'))).toEqual({ error: expect.stringMatching(/cannot run/) });
});

test('a parser that succeeds without the profile showing up among the loaded ones is not believed', async () => {
  const r = await loadDefaultAppArmorProfile(launcher, fakeParser('cat > /dev/null'));
  expect(r).toEqual({ error: expect.stringMatching(/krill-default is not among the loaded profiles/) });
});

// hack/install-deps installs apparmor (the parser) for this.
test('apparmor_parser compiles the default profile', () => {
  const file = join(dir, 'krill-default');
  writeFileSync(file, defaultAppArmorProfile());
  // -Q: compile only, never load (this kernel has no AppArmor).
  execFileSync('/usr/sbin/apparmor_parser', ['-Q', '-K', '-o', '/dev/null', file], { stdio: 'pipe' });
});
