// What the agent asks of krilld, over its socket: CRI Status/Version and image
// calls (pkg/criclient) and the admin Reload. An interface, so the controllers'
// unit tests run on a fake.
import type { Image, StatusResponse, VersionResponse } from '../../api/runtime/v1/api';
import type { CriClient } from '../criclient/client';
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

export interface AdminCaller {
  reload(): Promise<ReloadResult>;
  close(): void;
}

export function criRuntime(cri: CriClient, admin: AdminCaller): KrillRuntime {
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
    reload: () => admin.reload(),
    close() {
      cri.close();
      admin.close();
    },
  };
}
