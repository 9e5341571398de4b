// What the agent asks of krilld, over its socket: CRI Status/Version and image
// calls and krill.admin.v1.Admin/Reload (all through pkg/criclient). An
// interface, so the controllers' unit tests run on a fake.
import type { Image, StatusResponse, VersionResponse } from '../../api/runtime/v1/api';
import { grpc, type CriClient } from '../criclient/client';
import type { ReloadResult } from './cluster_config';

export interface KrillRuntime {
  status(timeoutMs: number): Promise<StatusResponse>;
  version(timeoutMs: number): Promise<VersionResponse>;
  /** Pulls `image`; resolves the image's ID (CRI image_ref). */
  pullImage(image: string): Promise<string>;
  /** The image as krilld holds it, or undefined. */
  imageStatus(image: string): Promise<Image | undefined>;
  /** Admin/Reload; rejects with a ReloadError. */
  reload(): Promise<ReloadResult>;
  close(): void;
}

/** Why a reload failed: krilld refused the files (INVALID_ARGUMENT), or the call itself failed. */
export class ReloadError extends Error {
  constructor(
    readonly kind: 'rejected' | 'unavailable',
    message: string,
  ) {
    super(message);
  }
}

export const PULL_TIMEOUT_MS = 30 * 60 * 1000;
const IMAGE_STATUS_TIMEOUT_MS = 30_000;
const RELOAD_TIMEOUT_MS = 30_000;

export function criRuntime(cri: CriClient): KrillRuntime {
  return {
    status: (timeoutMs) => cri.runtime.status({ verbose: false }, { timeoutMs }),
    version: (timeoutMs) => cri.runtime.version({ version: 'v1' }, { timeoutMs }),
    async pullImage(image) {
      const res = await cri.image.pullImage(
        { image: { image, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' }, auth: undefined, sandboxConfig: undefined },
        { timeoutMs: PULL_TIMEOUT_MS },
      );
      return res.imageRef;
    },
    async imageStatus(image) {
      const res = await cri.image.imageStatus(
        { image: { image, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' }, verbose: false },
        { timeoutMs: IMAGE_STATUS_TIMEOUT_MS },
      );
      return res.image;
    },
    async reload() {
      try {
        const res = await cri.admin.reload({}, { timeoutMs: RELOAD_TIMEOUT_MS });
        return { hash: res.hash, applied: res.applied, needsRestart: res.needsRestart };
      } catch (err) {
        const e = err as grpc.ServiceError;
        throw new ReloadError(e.code === grpc.status.INVALID_ARGUMENT ? 'rejected' : 'unavailable', e.details || e.message || String(err));
      }
    },
    close: () => cri.close(),
  };
}
