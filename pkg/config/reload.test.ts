import { defaultConfig, type KrillConfig } from './config';
import { configHash, diffConfigs, isLive, planReload } from './reload';

function edited(edit: (c: KrillConfig) => void): KrillConfig {
  const c = defaultConfig();
  edit(c);
  return c;
}

describe('diffConfigs', () => {
  test('no change, no keys', () => {
    expect(diffConfigs(defaultConfig(), defaultConfig())).toEqual([]);
  });

  test('leaves by dotted key; named entries added, removed or changed inside', () => {
    const a = edited((c) => {
      c.image.registries['docker.io'] = { mirrors: ['http://m1'], mirror_only: false, insecure: false, ca_file: '', share_credentials_with_mirrors: false };
    });
    const b = edited((c) => {
      c.log_level = 'debug';
      c.image.registries['docker.io'] = { mirrors: ['http://m2'], mirror_only: false, insecure: false, ca_file: '', share_credentials_with_mirrors: false };
      c.image.registries['quay.io'] = { mirrors: [], mirror_only: false, insecure: true, ca_file: '', share_credentials_with_mirrors: false };
      delete c.runtime.handlers.crun;
      c.runtime.handlers.runc!.binary = '/usr/local/bin/runc';
      c.streaming.token_ttl = 5_000;
    });
    expect(diffConfigs(a, b)).toEqual([
      { path: ['log_level'], key: 'log_level', kind: 'changed' },
      { path: ['runtime', 'handlers', 'crun'], key: 'runtime.handlers.crun', kind: 'removed' },
      { path: ['runtime', 'handlers', 'runc', 'binary'], key: 'runtime.handlers.runc.binary', kind: 'changed' },
      { path: ['image', 'registries', 'docker.io', 'mirrors'], key: 'image.registries."docker.io".mirrors', kind: 'changed' },
      { path: ['image', 'registries', 'quay.io'], key: 'image.registries."quay.io"', kind: 'added' },
      { path: ['streaming', 'token_ttl'], key: 'streaming.token_ttl', kind: 'changed' },
    ]);
  });
});

describe('isLive', () => {
  const change = (path: string[], kind: 'changed' | 'added' | 'removed' = 'changed') => ({ path, key: path.join('.'), kind });
  test.each([
    [['log_level']],
    [['image', 'registries', 'docker.io', 'mirrors']],
    [['image', 'registries', 'docker.io', 'ca_file']],
    [['image', 'auth_file']],
    [['image', 'pause_image']],
    [['image', 'pinned_images']],
    [['streaming', 'max_sessions_per_container']],
    [['streaming', 'token_ttl']],
  ])('%j is live', (path) => expect(isLive(change(path))).toBe(true));
  test('whole registries come and go live', () => {
    expect(isLive(change(['image', 'registries', 'quay.io'], 'added'))).toBe(true);
    expect(isLive(change(['image', 'registries', 'quay.io'], 'removed'))).toBe(true);
  });
  test.each([
    [['socket']],
    [['root']],
    [['runtime', 'cgroup_driver']],
    [['runtime', 'default_handler']],
    [['image', 'max_concurrent_downloads']],
    [['network', 'cni_conf_dir']],
    [['streaming', 'port']],
    [['streaming', 'tls_cert_file']],
    [['metrics', 'address']],
    [['runtime', 'handlers', 'runc', 'binary']],
  ])('%j needs a restart', (path) => expect(isLive(change(path))).toBe(false));
  test('a handler is added live; removing one needs a restart', () => {
    expect(isLive(change(['runtime', 'handlers', 'gvisor'], 'added'))).toBe(true);
    expect(isLive(change(['runtime', 'handlers', 'crun'], 'removed'))).toBe(false);
  });
});

describe('planReload', () => {
  test('applies live keys, keeps restart-only keys at their running value and lists them', () => {
    const running = defaultConfig();
    const loaded = edited((c) => {
      c.log_level = 'debug';
      c.image.pinned_images = ['busybox'];
      c.runtime.handlers.gvisor = { binary: '/usr/bin/runsc', root: '' };
      c.network.plugin_timeout = 1000;
      c.socket = '/run/other.sock';
    });
    const plan = planReload(running, loaded);
    expect(plan.applied).toEqual(['log_level', 'runtime.handlers.gvisor', 'image.pinned_images']);
    expect(plan.needsRestart).toEqual(['socket', 'network.plugin_timeout']);
    expect(plan.next.log_level).toBe('debug');
    expect(plan.next.image.pinned_images).toEqual(['busybox']);
    expect(plan.next.runtime.handlers.gvisor).toEqual({ binary: '/usr/bin/runsc', root: '' });
    expect(plan.next.socket).toBe(running.socket);
    expect(plan.next.network.plugin_timeout).toBe(running.network.plugin_timeout);
    // Not mutated, and not aliased to the loaded config.
    expect(running).toEqual(defaultConfig());
    loaded.image.pinned_images.push('x');
    expect(plan.next.image.pinned_images).toEqual(['busybox']);
    // The same files again: nothing to apply, the restart keys still pending.
    const again = planReload(plan.next, loaded);
    expect(again.applied).toEqual(['image.pinned_images']);
    const third = planReload(plan.next, edited((c) => Object.assign(c, structuredClone(plan.next), { socket: '/run/other.sock', network: { ...plan.next.network, plugin_timeout: 1000 } })));
    expect(third.applied).toEqual([]);
    expect(third.needsRestart).toEqual(['socket', 'network.plugin_timeout']);
  });

  test('a registry removed from the files goes live', () => {
    const running = edited((c) => {
      c.image.registries['mirror.test'] = { mirrors: ['http://127.0.0.1:5055'], mirror_only: true, insecure: false, ca_file: '', share_credentials_with_mirrors: false };
    });
    const plan = planReload(running, defaultConfig());
    expect(plan.applied).toEqual(['image.registries."mirror.test"']);
    expect(plan.next.image.registries).toEqual({});
  });
});

describe('configHash', () => {
  test('stable: the same configuration hashes the same whatever the key order', () => {
    const a = edited((c) => {
      c.image.registries['a.test'] = { mirrors: [], mirror_only: false, insecure: true, ca_file: '', share_credentials_with_mirrors: false };
      c.image.registries['b.test'] = { mirrors: [], mirror_only: false, insecure: false, ca_file: '', share_credentials_with_mirrors: false };
    });
    const b = edited((c) => {
      c.image.registries['b.test'] = { mirrors: [], mirror_only: false, insecure: false, ca_file: '', share_credentials_with_mirrors: false };
      c.image.registries['a.test'] = { mirrors: [], mirror_only: false, insecure: true, ca_file: '', share_credentials_with_mirrors: false };
    });
    expect(configHash(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(configHash(a)).toBe(configHash(b));
    expect(configHash(defaultConfig())).toBe(configHash(defaultConfig()));
  });

  test('any change changes it; list order counts', () => {
    const base = configHash(defaultConfig());
    expect(configHash(edited((c) => (c.log_level = 'debug')))).not.toBe(base);
    expect(configHash(edited((c) => (c.network.cni_bin_dirs = ['/opt/cni/bin', '/usr/lib/cni'])))).not.toBe(base);
  });
});
