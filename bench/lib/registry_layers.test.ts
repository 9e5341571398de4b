import { blobUrl, decompressorOf, layersOf, pickPlatform, splitRef } from './registry_layers';

describe('registry layers', () => {
  test('references split into repository and tag', () => {
    expect(splitRef('krill-test/large:latest')).toEqual({ repository: 'krill-test/large', tag: 'latest' });
    expect(splitRef('krill-bench/many-files')).toEqual({ repository: 'krill-bench/many-files', tag: 'latest' });
    expect(splitRef('a/b:v1.2')).toEqual({ repository: 'a/b', tag: 'v1.2' });
  });

  test('layer media types map to their decompressor', () => {
    expect(decompressorOf('application/vnd.oci.image.layer.v1.tar+gzip')).toBe('gzip');
    expect(decompressorOf('application/vnd.docker.image.rootfs.diff.tar.gzip')).toBe('gzip');
    expect(decompressorOf('application/vnd.oci.image.layer.nondistributable.v1.tar+gzip')).toBe('gzip');
    expect(decompressorOf('application/vnd.oci.image.layer.v1.tar+zstd')).toBe('zstd');
    expect(decompressorOf('application/vnd.oci.image.layer.v1.tar')).toBe('none');
    expect(decompressorOf('application/vnd.docker.image.rootfs.diff.tar')).toBe('none');
    expect(() => decompressorOf('application/vnd.oci.image.layer.v1.tar+bzip2')).toThrow('unknown layer media type');
  });

  test('a manifest gives its layers, an index none (its platform entry is fetched instead)', () => {
    const layers = [{ digest: 'sha256:a', mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 10 }];
    expect(layersOf({ layers }, 'application/vnd.oci.image.manifest.v1+json')).toEqual(layers);
    expect(layersOf({ layers: [{ digest: 'sha256:b', size: 1 }] }, '')).toEqual([{ digest: 'sha256:b', mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 1 }]);
    expect(layersOf({ manifests: [] }, '')).toBeUndefined();
    expect(() => layersOf({}, 'text/plain')).toThrow('without layers');
  });

  test('the linux/amd64 entry of an index, else the first', () => {
    const arm = { digest: 'sha256:arm', size: 1, platform: { os: 'linux', architecture: 'arm64' } };
    const amd = { digest: 'sha256:amd', size: 1, platform: { os: 'linux', architecture: 'amd64' } };
    expect(pickPlatform([arm, amd]).digest).toBe('sha256:amd');
    expect(pickPlatform([arm]).digest).toBe('sha256:arm');
    expect(() => pickPlatform([])).toThrow('empty');
  });

  test('blob URLs are plain HTTP on the registry', () => {
    expect(blobUrl('127.0.0.1:5055', 'krill-test/large', 'sha256:ab')).toBe('http://127.0.0.1:5055/v2/krill-test/large/blobs/sha256:ab');
  });
});
