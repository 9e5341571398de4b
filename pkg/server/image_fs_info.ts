// ImageFsInfo: bytes and inodes used by the layer and content stores, on the
// filesystem of <root>/layers. Container writable layers are not reported
// here (CRI: only when they live on another filesystem).
import type { ImageFsInfoRequest, ImageFsInfoResponse } from '../../api/runtime/v1/api';
import type { ImageManager } from '../image/manager';
import type { UnaryHandler } from './rpc';
import { nowNs } from '../util/time';

export function imageFsInfoHandler(images: ImageManager): UnaryHandler<ImageFsInfoRequest, ImageFsInfoResponse> {
  return async () => {
    const u = await images.usage();
    return {
      imageFilesystems: [
        {
          timestamp: nowNs(),
          fsId: { mountpoint: u.mountpoint },
          usedBytes: { value: BigInt(u.bytes) },
          inodesUsed: { value: BigInt(u.inodes) },
        },
      ],
      containerFilesystems: [],
    };
  };
}
