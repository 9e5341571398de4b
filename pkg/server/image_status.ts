// ImageStatus: the image a reference or ID names, or none (not an error);
// verbose adds the image config, layers and chain IDs as JSON under "info".
import type { ImageStatusRequest, ImageStatusResponse } from '../../api/runtime/v1/api';
import type { ImageManager, ImageRecord } from '../image/manager';
import { criImage, requestedImage } from './image_common';
import type { UnaryHandler } from './rpc';

async function verboseInfo(images: ImageManager, r: ImageRecord): Promise<string> {
  const stored = images.stored(r.id);
  const configBytes = await images.content.read(r.id);
  let imageSpec: unknown;
  try {
    imageSpec = configBytes ? JSON.parse(configBytes.toString('utf8')) : undefined;
  } catch {
    imageSpec = undefined;
  }
  return JSON.stringify({
    id: r.id,
    chainID: r.chainIds[r.chainIds.length - 1] ?? '',
    chainIDs: r.chainIds,
    manifestDigest: stored?.manifestDigest,
    manifestMediaType: stored?.manifestMediaType,
    indexDigest: stored?.indexDigest,
    platform: stored?.platform,
    layers: (stored?.layers ?? []).map((l) => ({
      digest: l.digest,
      mediaType: l.mediaType,
      size: l.size,
      diffID: l.diffId,
      chainID: l.chainId,
      unpackedSize: images.layers.get(l.chainId)?.size,
      path: images.layers.diffDir(l.chainId),
    })),
    imageSpec,
  });
}

export function imageStatusHandler(images: ImageManager): UnaryHandler<ImageStatusRequest, ImageStatusResponse> {
  return async (req) => {
    const record = images.resolve(requestedImage(req.image));
    if (!record) return { image: undefined, info: {} };
    const info: Record<string, string> = req.verbose ? { info: await verboseInfo(images, record) } : {};
    return { image: criImage(record), info };
  };
}
