import { defaultConfig } from '../config/config';
import type { LoadedConfig } from '../config/load';
import { ConfigReloader } from '../config/reloader';
import { ConfigError } from '../config/schema';
import { KrillError } from '../errors/errors';
import { silentLogger } from '../log/logger';
import { adminHandlers } from './admin';
import type { CallContext } from './rpc';

const ctx: CallContext = { log: silentLogger(), signal: new AbortController().signal, method: 'test' };

function setup(load: () => LoadedConfig, apply: () => Promise<void> = async () => undefined) {
  const reloader = new ConfigReloader({ initial: { config: defaultConfig(), sources: ['/etc/krill/krill.toml'] }, load, apply });
  return reloader;
}

test('Reload maps a config that does not load to InvalidArgument, a failure to apply to Internal', async () => {
  const bad = adminHandlers(setup(() => { throw new ConfigError('/etc/krill/krill.d/9.toml', 'image.pinned_images[0]', 'a string'); }));
  await expect(bad.reload!({}, ctx)).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('9.toml: key "image.pinned_images[0]"') });
  const next = defaultConfig();
  next.image.pinned_images = ['busybox'];
  const failing = adminHandlers(setup(() => ({ config: next, sources: [] }), async () => { throw new Error('probe failed'); }));
  const err = await failing.reload!({}, ctx).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KrillError);
  expect(err).toMatchObject({ code: 'Internal', message: 'applying the configuration failed: probe failed' });
  expect((await failing.getConfig!({}, ctx)).lastReloadError).toBe('applying the configuration failed: probe failed');
});

test('Restart without a restart function is not offered (UNIMPLEMENTED); with one it runs after answering', async () => {
  const r = setup(() => ({ config: defaultConfig(), sources: [] }));
  expect(adminHandlers(r).restart).toBeUndefined();
  let restarted = false;
  const h = adminHandlers(r, () => (restarted = true));
  await expect(h.restart!({}, ctx)).resolves.toEqual({ pendingRestart: [] });
  expect(restarted).toBe(false);
  await new Promise((resolve) => setImmediate(resolve));
  expect(restarted).toBe(true);
});

test('Restart refuses a configuration that does not load, and does not restart', async () => {
  let restarted = false;
  const h = adminHandlers(setup(() => { throw new ConfigError('/etc/krill/krill.toml', 'socket', 'an absolute path'); }), () => (restarted = true));
  await expect(h.restart!({}, ctx)).rejects.toMatchObject({ code: 'InvalidArgument' });
  await new Promise((resolve) => setImmediate(resolve));
  expect(restarted).toBe(false);
});
