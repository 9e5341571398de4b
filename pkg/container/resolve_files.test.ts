// The node's files a CreateContainer request names, as resolveHostFiles reads them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerConfig } from '../../api/runtime/v1/api';
import { KrillError } from '../errors/errors';
import type { SpecRequirements } from '../oci/spec';
import { MAX_SECCOMP_PROFILE_BYTES, resolveHostFiles } from './resolve_files';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'resolve-files-'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const requirements = (seccompProfile: string): SpecRequirements => ({ hostPaths: [], devicePaths: [], imageMounts: [], hostDevices: false, cdiDevices: false, seccompProfile });

async function refusal(profile: string): Promise<KrillError> {
  const err = await resolveHostFiles(ContainerConfig.fromPartial({}), requirements(profile)).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KrillError);
  expect(err).toMatchObject({ code: 'InvalidArgument' });
  return err as KrillError;
}

describe('the Localhost seccomp profile', () => {
  test('is read when it is a regular file within the cap', async () => {
    writeFileSync(join(dir, 'ok.json'), '{"defaultAction":"SCMP_ACT_ALLOW"}');
    expect((await resolveHostFiles(ContainerConfig.fromPartial({}), requirements(join(dir, 'ok.json')))).seccompProfile).toBe('{"defaultAction":"SCMP_ACT_ALLOW"}');
  });

  test.each([
    ['a FIFO', () => join(dir, 'fifo'), 'is a FIFO, not a regular file'],
    ['/dev/zero', () => '/dev/zero', 'is a character device, not a regular file'],
    ['a missing file', () => join(dir, 'missing.json'), 'does not exist'],
  ])('%s is InvalidArgument, at once', async (_what, path, detail) => {
    const err = await refusal(path());
    expect(err.message).toBe(`config.linux.security_context.seccomp: the Localhost profile ${JSON.stringify(path())} ${detail}`);
  });

  test('a profile over the cap is InvalidArgument naming the cap', async () => {
    writeFileSync(join(dir, 'huge.json'), Buffer.alloc(MAX_SECCOMP_PROFILE_BYTES + 1, ' '));
    expect((await refusal(join(dir, 'huge.json'))).message).toMatch(/the Localhost profile ".*huge\.json" is larger than 1 MiB$/);
  });
});
