// RemoveImage: the image and all its names go, then every layer and blob
// that no image and no container uses. An unknown image is not an error.
import type { RemoveImageRequest, RemoveImageResponse } from '../../api/runtime/v1/api';
import type { ImageManager } from '../image/manager';
import { requestedImage } from './image_common';
import type { UnaryHandler } from './rpc';

export function removeImageHandler(images: ImageManager): UnaryHandler<RemoveImageRequest, RemoveImageResponse> {
  return async (req, ctx) => {
    const image = requestedImage(req.image);
    const removed = await images.remove(image);
    if (!removed) ctx.log.debug({ image }, 'RemoveImage: no such image');
    return {};
  };
}
