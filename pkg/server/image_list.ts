// ListImages: every image, or those the filter names (a reference or ID, or a
// repository without tag for all of its tags).
import type { ListImagesRequest, ListImagesResponse } from '../../api/runtime/v1/api';
import type { ImageManager } from '../image/manager';
import { criImage } from './image_common';
import type { UnaryHandler } from './rpc';

export function listImagesHandler(images: ImageManager): UnaryHandler<ListImagesRequest, ListImagesResponse> {
  return async (req) => ({ images: images.list(req.filter?.image?.image || undefined).map(criImage) });
}
