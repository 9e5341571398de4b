// Shared by the ImageService handlers: the request's image reference and the
// CRI view of an image record.
import type { Image, ImageSpec } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import type { ImageRecord } from '../image/manager';

/** The reference a request names; InvalidArgument when it names none. */
export function requestedImage(spec: ImageSpec | undefined, field = 'image.image'): string {
  const image = spec?.image ?? '';
  if (image === '') throw invalidArgument(`${field} is required`);
  return image;
}

export function criImage(r: ImageRecord): Image {
  return {
    id: r.id,
    repoTags: [...r.repoTags],
    repoDigests: [...r.repoDigests],
    size: BigInt(Math.max(1, r.size)),
    uid: r.uid !== undefined ? { value: BigInt(r.uid) } : undefined,
    username: r.username ?? '',
    spec: { image: r.id, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' },
    pinned: r.pinned,
  };
}
