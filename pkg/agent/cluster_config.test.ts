import { afterReloadFailure, configAction, configAnnotations, renderDropin } from './cluster_config';

const cm = (data: Record<string, string>) => ({ namespace: 'krill-system', name: 'krill-config', data });

test('the drop-in is the krill.toml key under a header', () => {
  expect(renderDropin(cm({ 'krill.toml': '[log]\nlevel = "debug"' }))).toBe(
    '# Written by krill-agent from ConfigMap krill-system/krill-config, key krill.toml; edits here are overwritten.\n[log]\nlevel = "debug"\n',
  );
});

test('no ConfigMap, no key or a blank key: no drop-in', () => {
  expect(renderDropin(undefined)).toBeNull();
  expect(renderDropin(cm({ other: 'x' }))).toBeNull();
  expect(renderDropin(cm({ 'krill.toml': ' \n' }))).toBeNull();
});

test('annotations: the hash, and the keys waiting for a restart (removed when none)', () => {
  expect(configAnnotations({ hash: 'abc', applied: ['image.mirrors'], needsRestart: [] })).toEqual({ 'krill.dev/config-hash': 'abc', 'krill.dev/config-pending-restart': null });
  expect(configAnnotations({ hash: 'abc', applied: [], needsRestart: ['root', 'cgroup.driver'] })).toEqual({
    'krill.dev/config-hash': 'abc',
    'krill.dev/config-pending-restart': 'cgroup.driver,root',
  });
});

test('a refused config is restored and reported, not retried; an unreachable krilld is retried', () => {
  expect(afterReloadFailure({ kind: 'rejected', message: 'bad key' })).toEqual({
    restore: true,
    event: { reason: 'ConfigRejected', message: 'krilld refused the cluster config: bad key' },
    retry: false,
  });
  expect(afterReloadFailure({ kind: 'unavailable', message: 'down' })).toEqual({ restore: true, event: undefined, retry: true });
});

test('configAction', () => {
  expect(configAction('a', null, undefined, false)).toBe('write');
  expect(configAction(null, 'a', undefined, true)).toBe('write');
  expect(configAction('a', 'a', undefined, false)).toBe('reload');
  expect(configAction('a', 'a', undefined, true)).toBe('none');
  expect(configAction('bad', 'a', 'bad', true)).toBe('none');
  expect(configAction('fixed', 'a', 'bad', true)).toBe('write');
});
