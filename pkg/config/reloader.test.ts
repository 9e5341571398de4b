import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type LoadedConfig } from './load';
import { configHash, type ReloadPlan } from './reload';
import { ConfigReloader, ReloadError } from './reloader';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-reloader-'));
  mkdirSync(join(dir, 'krill.d'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const load = (): LoadedConfig =>
  loadConfig({ configFile: join(dir, 'krill.toml'), configExplicit: false, dropInDir: join(dir, 'krill.d'), overrides: { log_level: 'warn' } });

let outcomes: string[];
beforeEach(() => (outcomes = []));

function reloader(apply: (plan: ReloadPlan) => Promise<void> = async () => undefined): ConfigReloader {
  return new ConfigReloader({ initial: load(), load, apply, observe: (o) => outcomes.push('error' in o ? 'error' : 'ok') });
}

test('a reload applies the live keys, lists the restart-only ones, and GetConfig reports both', async () => {
  const r = reloader();
  const before = r.state();
  expect(before).toEqual({ hash: configHash(r.config), pendingRestart: [], files: [], lastReloadError: '' });
  writeFileSync(join(dir, 'krill.d', '50-x.toml'), '[image]\npinned_images = ["busybox"]\n[network]\nplugin_timeout = "5s"\n');
  const result = await r.reload();
  expect(result.applied).toEqual(['image.pinned_images']);
  expect(result.needsRestart).toEqual(['network.plugin_timeout']);
  expect(result.hash).not.toBe(before.hash);
  expect(r.config.image.pinned_images).toEqual(['busybox']);
  expect(r.config.network.plugin_timeout).toBe(30_000);
  expect(r.state()).toEqual({ hash: result.hash, pendingRestart: ['network.plugin_timeout'], files: [join(dir, 'krill.d', '50-x.toml')], lastReloadError: '' });
});

test('flags given at start still win over the files', async () => {
  const r = reloader();
  writeFileSync(join(dir, 'krill.toml'), 'log_level = "debug"\n');
  const result = await r.reload();
  expect(result.applied).toEqual([]);
  expect(r.config.log_level).toBe('warn');
});

test('a bad file: ReloadError (invalid) naming file and key, the running config kept, the error reported until a good reload', async () => {
  const r = reloader();
  const before = r.state();
  writeFileSync(join(dir, 'krill.d', '60-bad.toml'), '[image]\npinned_images = ["ok"]\nmax_concurrent_downloads = "many"\n');
  const err = await r.reload().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReloadError);
  expect((err as ReloadError).invalid).toBe(true);
  expect((err as ReloadError).message).toMatch(/60-bad\.toml: key "image\.max_concurrent_downloads"/);
  expect(r.config.image.pinned_images).toEqual([]);
  expect(r.state()).toEqual({ ...before, lastReloadError: (err as ReloadError).message });
  rmSync(join(dir, 'krill.d', '60-bad.toml'));
  await r.reload();
  expect(r.state().lastReloadError).toBe('');
  expect(outcomes).toEqual(['error', 'ok']);
});

test('a failure to apply keeps the running config; reloads run one at a time', async () => {
  let inFlight = 0;
  let most = 0;
  let fail = true;
  const r = reloader(async () => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5));
    inFlight--;
    if (fail) throw new Error('probe failed');
  });
  writeFileSync(join(dir, 'krill.d', '50-x.toml'), '[image]\npinned_images = ["busybox"]\n');
  await expect(r.reload()).rejects.toMatchObject({ invalid: false, message: 'applying the configuration failed: probe failed' });
  expect(r.config.image.pinned_images).toEqual([]);
  fail = false;
  await Promise.all([r.reload(), r.reload(), r.reload()]);
  expect(most).toBe(1);
  expect(r.config.image.pinned_images).toEqual(['busybox']);
});
