// What a failed pull means to a CRI client.
import { KrillError } from '../errors/errors';
import { LayerLimitError } from '../storage/unpack_limits';
import { AuthError } from './auth';
import { StallError } from './http';
import { ReferenceError } from './reference';
import { RegistryError } from './registry';

export function pullError(image: string, err: unknown): KrillError {
  const msg = err instanceof Error ? err.message : String(err);
  const fail = `pulling ${image} failed: ${msg}`;
  if (err instanceof LayerLimitError) return new KrillError(err.code, fail, { cause: err });
  if (err instanceof KrillError) return err;
  if (err instanceof ReferenceError) return new KrillError('InvalidArgument', `image.image: ${msg}`, { cause: err });
  if (err instanceof RegistryError) {
    switch (err.kind) {
      case 'not-found':
        return new KrillError('NotFound', `image ${image} not found: ${msg}`, { cause: err });
      case 'unauthorized':
      case 'denied':
        return new KrillError('PermissionDenied', `pull access denied for ${image}: ${msg}`, { cause: err });
      case 'stalled':
        return new KrillError('DeadlineExceeded', `pulling ${image} made no progress: ${msg}`, { cause: err });
      case 'unavailable':
        return new KrillError('Unavailable', fail, { cause: err });
      default:
        return new KrillError('Internal', fail, { cause: err });
    }
  }
  if (err instanceof StallError) return new KrillError('DeadlineExceeded', `pulling ${image} made no progress: ${msg}`, { cause: err });
  if (err instanceof AuthError) return new KrillError('PermissionDenied', fail, { cause: err });
  // Content the registry should not have served (VerifyError, ManifestError, UnsafeEntryError,
  // TarError) and faults of this node alike: the message says which.
  return new KrillError('Internal', fail, { cause: err });
}
