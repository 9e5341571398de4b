// Container helpers for integration tests: a krilld that can pull the test
// images, request builders, and reading CRI logs.
import { readFileSync } from 'node:fs';
import { ContainerConfig, type ContainerStatus, type DeepPartial } from '../../api/runtime/v1/api';
import type { CriClient } from '../../pkg/criclient/client';
import { splitStreams } from '../../pkg/runtime/crilog';
import { startKrilld, type Krilld, type KrilldOptions } from './krilld';

export const REGISTRY = process.env.KRILL_TEST_REGISTRY ?? '127.0.0.1:5055';

/** The reference of a hack/test-images image. */
export function testImage(name: string): string {
  return `${REGISTRY}/krill-test/${name}:latest`;
}

/** A krilld that talks plain HTTP to the local test registry. */
export function startContainerKrilld(opts: KrilldOptions = {}): Promise<Krilld> {
  return startKrilld({ ...opts, config: `[image.registries."${REGISTRY}"]\ninsecure = true\n${opts.config ?? ''}` });
}

export type ContainerConfigInit = DeepPartial<ContainerConfig>;

/** A container config like kubelet's: name, image, and whatever the test adds. */
export function containerConfig(name: string, image: string, extra: ContainerConfigInit = {}): ContainerConfig {
  const init: DeepPartial<ContainerConfig> = { metadata: { name, attempt: 0 }, image: { image }, ...extra };
  return ContainerConfig.fromPartial(init);
}

export async function pull(client: CriClient, image: string): Promise<string> {
  return (await client.image.pullImage({ image: { image, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' }, auth: undefined, sandboxConfig: undefined })).imageRef;
}

export async function status(client: CriClient, id: string): Promise<ContainerStatus> {
  return (await client.runtime.containerStatus({ containerId: id, verbose: false })).status!;
}

/** Polls until the container has exited (or the time is up). */
export async function waitExited(client: CriClient, id: string, timeoutMs = 20_000): Promise<ContainerStatus> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(client, id);
    if (s.state === 2 /* CONTAINER_EXITED */) return s;
    if (Date.now() > end) throw new Error(`container ${id} did not exit in time (state ${s.state})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The stdout and stderr a container wrote, from its CRI log file. */
export function readLog(path: string): { stdout: string; stderr: string } {
  const { stdout, stderr } = splitStreams(readFileSync(path));
  return { stdout: stdout.toString(), stderr: stderr.toString() };
}
