import { cleanupPatches, isClean, leftovers } from './uninstall';

const dirty = {
  metadata: {
    name: 'n1',
    labels: { 'krill.dev/ready': 'true', 'krill.dev/handler.runc': 'true', 'kubernetes.io/os': 'linux' },
    annotations: { 'krill.dev/config-hash': 'abc', 'node.alpha.kubernetes.io/ttl': '0' },
  },
  status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'KrillRuntimeReady', status: 'True' }] },
};

test('leftovers: the owned labels, annotations and the condition', () => {
  expect(leftovers(dirty)).toEqual({ labels: ['krill.dev/ready', 'krill.dev/handler.runc'], annotations: ['krill.dev/config-hash'], condition: true });
  expect(isClean(dirty)).toBe(false);
  expect(isClean({ metadata: { labels: { a: 'b' } }, status: { conditions: [{ type: 'Ready', status: 'True' }] } })).toBe(true);
});

test('cleanup patches remove exactly those', () => {
  expect(cleanupPatches(dirty)).toEqual({
    metadata: { labels: { 'krill.dev/ready': null, 'krill.dev/handler.runc': null }, annotations: { 'krill.dev/config-hash': null } },
    status: { status: { conditions: [{ type: 'KrillRuntimeReady', $patch: 'delete' }] } },
  });
  expect(cleanupPatches({ metadata: {} })).toEqual({ metadata: undefined, status: undefined });
});
