import { featureLabels, isValidLabelValue, labelPatch, labelRemovalPatch, labelValue } from './labels';

const handlers = [
  { name: '', features: { recursiveReadOnlyMounts: true, userNamespaces: true } },
  { name: 'runc', features: { recursiveReadOnlyMounts: true, userNamespaces: true } },
  { name: 'crun', features: { recursiveReadOnlyMounts: true, userNamespaces: false } },
];

test('feature labels from Status, Version and the host', () => {
  expect(featureLabels(true, { runtimeVersion: '0.1.0', handlers }, { cgroup: 'v1', seccomp: true })).toEqual({
    'krill.dev/ready': 'true',
    'krill.dev/version': '0.1.0',
    'krill.dev/userns': 'true',
    'krill.dev/rro-mounts': 'true',
    'krill.dev/cgroup': 'v1',
    'krill.dev/seccomp': 'true',
    'krill.dev/handler.runc': 'true',
    'krill.dev/handler.crun': 'true',
  });
  const noCrun = featureLabels(false, { runtimeVersion: '0.1.0', handlers: handlers.slice(0, 2) }, { cgroup: 'v2', seccomp: false });
  expect(noCrun['krill.dev/handler.crun']).toBeUndefined();
  expect(noCrun).toMatchObject({ 'krill.dev/ready': 'false', 'krill.dev/cgroup': 'v2', 'krill.dev/seccomp': 'false' });
});

test('label values are made valid', () => {
  for (const [input, want] of [
    ['0.1.0+git.abc123', '0.1.0_git.abc123'],
    ['v1.2.3', 'v1.2.3'],
    ['-dev-', 'dev'],
    ['x'.repeat(80), 'x'.repeat(63)],
    ['++', ''],
  ]) {
    expect(labelValue(input!)).toBe(want);
    expect(isValidLabelValue(labelValue(input!))).toBe(true);
  }
});

describe('labelPatch', () => {
  const desired = { 'krill.dev/ready': 'true', 'krill.dev/cgroup': 'v1' };

  test('sets what differs, leaves foreign labels alone', () => {
    expect(labelPatch({ 'kubernetes.io/hostname': 'n1', 'krill.dev/ready': 'false' }, desired, true)).toEqual({ 'krill.dev/ready': 'true', 'krill.dev/cgroup': 'v1' });
  });

  test('nothing to do: undefined', () => {
    expect(labelPatch({ ...desired, other: 'x' }, desired, true)).toBeUndefined();
  });

  test('owned labels no longer seen are removed after a sync', () => {
    expect(labelPatch({ ...desired, 'krill.dev/handler.crun': 'true', 'krill.dev/custom': 'mine' }, desired, true)).toEqual({ 'krill.dev/handler.crun': null });
  });

  test('nothing is removed before the first successful sync', () => {
    expect(labelPatch({ 'krill.dev/handler.crun': 'true', 'krill.dev/version': '0.1.0' }, { 'krill.dev/ready': 'false' }, false)).toEqual({ 'krill.dev/ready': 'false' });
  });

  test('uninstall removes the owned ones only', () => {
    expect(labelRemovalPatch({ 'krill.dev/ready': 'true', 'krill.dev/custom': 'x', a: 'b' })).toEqual({ 'krill.dev/ready': null });
    expect(labelRemovalPatch({ a: 'b' })).toBeUndefined();
  });
});
