import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasSeccomp, hostFacts } from './host';

test('seccomp: the Seccomp line of /proc/<pid>/status', () => {
  expect(hasSeccomp('Name:\tnode\nSeccomp:\t0\nSeccomp_filters:\t0\n')).toBe(true);
  expect(hasSeccomp('Name:\tnode\nNoNewPrivs:\t0\n')).toBe(false);
});

test('cgroup v2 when the hierarchy has cgroup.controllers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'krill-agent-host-'));
  try {
    await writeFile(join(dir, 'status'), 'Seccomp:\t2\n');
    expect(await hostFacts(dir, join(dir, 'status'))).toEqual({ cgroup: 'v1', seccomp: true });
    await writeFile(join(dir, 'cgroup.controllers'), 'cpu memory\n');
    expect(await hostFacts(dir, join(dir, 'status'))).toEqual({ cgroup: 'v2', seccomp: true });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
