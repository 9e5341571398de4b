import { sha256Digest } from './digest';
import { chooseManifest, MediaType, parseImageConfig, parseManifest, ManifestError, type ImageIndex } from './manifest';

const d = (s: string): string => sha256Digest(s);
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

test('an OCI manifest', () => {
  const m = parseManifest(
    json({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: d('c'), size: 10 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: d('l'), size: 5 }],
    }),
    undefined,
    'manifest',
  );
  expect(m.kind).toBe('manifest');
  if (m.kind === 'manifest') expect(m.layers[0]!.digest).toBe(d('l'));
});

test('the media type comes from the body, then the header, then the shape', () => {
  const body = { schemaVersion: 2, config: { mediaType: MediaType.DockerConfig, digest: d('c'), size: 1 }, layers: [] };
  expect(parseManifest(json(body), `${MediaType.DockerManifest}; charset=utf-8`, 'm').mediaType).toBe(MediaType.DockerManifest);
  expect(parseManifest(json(body), 'application/json', 'm').mediaType).toBe(MediaType.OciManifest);
  expect(parseManifest(json({ schemaVersion: 2, manifests: [] }), undefined, 'm').kind).toBe('index');
});

test('schema 1 is refused with a clear message', () => {
  expect(() => parseManifest(json({ schemaVersion: 1, name: 'x', fsLayers: [] }), MediaType.DockerSchema1Signed, 'manifest of x')).toThrow(
    'manifest of x is a Docker schema 1 manifest',
  );
});

test('bad descriptors and layer types are refused', () => {
  const bad = (layers: unknown[]): Buffer => json({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: d('c'), size: 1 }, layers });
  expect(() => parseManifest(bad([{ mediaType: 'text/plain', digest: d('l'), size: 1 }]), undefined, 'm')).toThrow('unsupported media type "text/plain"');
  expect(() => parseManifest(bad([{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: 'sha256:zz', size: 1 }]), undefined, 'm')).toThrow(ManifestError);
  expect(() => parseManifest(bad([{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d('x'), size: -1 }]), undefined, 'm')).toThrow('invalid size');
  expect(() => parseManifest(Buffer.from('{nope'), undefined, 'm')).toThrow('not valid JSON');
});

test('the index entry for the host platform is chosen', () => {
  const index: ImageIndex = {
    kind: 'index',
    mediaType: MediaType.OciIndex,
    manifests: [
      { mediaType: MediaType.OciManifest, digest: d('arm'), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: MediaType.OciManifest, digest: d('amd'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.in-toto+json', digest: d('att'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
    ],
  };
  expect(chooseManifest(index, { os: 'linux', architecture: 'amd64' }, 'i').digest).toBe(d('amd'));
  expect(chooseManifest(index, { os: 'linux', architecture: 'arm64' }, 'i').digest).toBe(d('arm'));
  expect(() => chooseManifest(index, { os: 'linux', architecture: 's390x' }, 'index of x')).toThrow(
    'index of x has no image for linux/s390x (it offers linux/arm64/v8, linux/amd64, unknown/unknown)',
  );
});

test('an image config', () => {
  const c = parseImageConfig(
    json({
      architecture: 'amd64',
      os: 'linux',
      config: { User: 'alice:staff', Env: ['A=1'], Cmd: ['sh'], Volumes: { '/data': {} }, ExposedPorts: { '80/tcp': {} }, Labels: { a: 'b' }, StopSignal: 'SIGQUIT', WorkingDir: '' },
      rootfs: { type: 'layers', diff_ids: [d('1'), d('2')] },
    }),
    'config',
  );
  expect(c.diffIds).toEqual([d('1'), d('2')]);
  expect(c.config).toEqual({ User: 'alice:staff', Env: ['A=1'], Cmd: ['sh'], Volumes: { '/data': {} }, ExposedPorts: { '80/tcp': {} }, Labels: { a: 'b' }, StopSignal: 'SIGQUIT' });
  expect(() => parseImageConfig(json({ rootfs: { type: 'layers', diff_ids: ['x'] } }), 'config')).toThrow('config rootfs.diff_ids[0]: invalid digest');
  expect(() => parseImageConfig(json({ config: { Env: 'A=1' }, rootfs: { type: 'layers', diff_ids: [] } }), 'config')).toThrow('config config.Env is not a list');
});

test('a Docker manifest list is an index', () => {
  const list = parseManifest(
    json({
      schemaVersion: 2,
      mediaType: MediaType.DockerList,
      manifests: [{ mediaType: MediaType.DockerManifest, digest: d('m'), size: 3, platform: { os: 'linux', architecture: 'amd64' } }],
    }),
    undefined,
    'list',
  );
  expect(list).toMatchObject({ kind: 'index', mediaType: MediaType.DockerList });
  if (list.kind === 'index') expect(chooseManifest(list, { os: 'linux', architecture: 'amd64' }, 'list').digest).toBe(d('m'));
});
