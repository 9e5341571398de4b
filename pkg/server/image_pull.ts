// PullImage: validate, then pull through the image manager (a retry of the
// same pull joins the one in flight). Answers the image ID.
import type { PullImageRequest, PullImageResponse } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import { AuthError, credentialsFromCri, type Credentials } from '../image/auth';
import type { ImageManager } from '../image/manager';
import { parseReference, ReferenceError } from '../image/reference';
import { requestedImage } from './image_common';
import type { UnaryHandler } from './rpc';

function credentials(req: PullImageRequest): Credentials | undefined {
  try {
    return credentialsFromCri(req.auth);
  } catch (err) {
    if (err instanceof AuthError) throw invalidArgument(`auth.auth ${err.message}`);
    throw err;
  }
}

export function pullImageHandler(images: ImageManager): UnaryHandler<PullImageRequest, PullImageResponse> {
  return async (req, ctx) => {
    const image = requestedImage(req.image);
    try {
      parseReference(image);
    } catch (err) {
      if (err instanceof ReferenceError) throw invalidArgument(`image.image: ${err.message}`);
      throw err;
    }
    const creds = credentials(req);
    const id = await images.pull(image, { ...(creds ? { credentials: creds } : {}), signal: ctx.signal, log: ctx.log });
    return { imageRef: id };
  };
}
