// The ImageService handlers, for the daemon to spread into its table.
import type { ImageManager } from '../image/manager';
import { imageFsInfoHandler } from './image_fs_info';
import { listImagesHandler } from './image_list';
import { pullImageHandler } from './image_pull';
import { removeImageHandler } from './image_remove';
import { imageStatusHandler } from './image_status';
import type { ImageServiceHandlers } from './rpc';

export function imageHandlers(images: ImageManager): ImageServiceHandlers {
  return {
    pullImage: pullImageHandler(images),
    listImages: listImagesHandler(images),
    imageStatus: imageStatusHandler(images),
    removeImage: removeImageHandler(images),
    imageFsInfo: imageFsInfoHandler(images),
  };
}
