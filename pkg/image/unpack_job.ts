// One layer's verify-decompress-unpack work, as run by an unpack worker
// thread: the compressed bytes go in, the digest and size are checked, the
// tar is unpacked into `dir` and its diff ID checked. Also the messages
// between the image manager's thread and the workers.
import { Readable } from 'node:stream';
import { UnsafeEntryError } from '../storage/safe_path';
import { TarError } from '../storage/tar';
import { unpackLayer, type UnpackResult } from '../storage/unpack';
import { LayerLimitError, type UnpackLimits } from '../storage/unpack_limits';
import { decompress, DigestVerifier, hashing, VerifyError } from './verify';

export interface UnpackJob {
  /** The empty directory to unpack into. */
  dir: string;
  digest: string;
  size: number;
  diffId: string;
  /** "layer sha256:..." for messages. */
  what: string;
}

/** The bounds every layer is unpacked within (from the image config). */
export interface LayerLimits extends UnpackLimits {
  /** The largest zstd window accepted, as a power of two. */
  zstdWindowLogMax: number;
}

export type ToWorker = { t: 'start'; job: UnpackJob; limits: LayerLimits } | { t: 'data'; chunk: Uint8Array } | { t: 'end' } | { t: 'abort' };

export type FromWorker =
  | { t: 'ack'; bytes: number }
  | { t: 'done'; result: UnpackResult }
  | { t: 'error'; name: string; message: string }
  | { t: 'warn'; message: string };

/** Verifies and unpacks the compressed layer `source` as `job` describes. */
export async function runUnpackJob(job: UnpackJob, limits: LayerLimits, source: AsyncIterable<Buffer>, signal: AbortSignal, onWarning: (m: string) => void): Promise<UnpackResult> {
  const verifier = new DigestVerifier(job.digest, job.size, job.what);
  const input = Readable.from(source, { objectMode: false });
  input.on('error', (err) => verifier.destroy(err));
  input.pipe(verifier);
  const diff: { digest?: string; bytes: number } = { bytes: 0 };
  const result = await unpackLayer(hashing(decompress(verifier, { zstdWindowLogMax: limits.zstdWindowLogMax }), diff), job.dir, {
    signal,
    onXattrWarning: onWarning,
    limits: { maxEntries: limits.maxEntries },
  });
  if (diff.digest !== job.diffId) {
    throw new VerifyError(`${job.what}: its uncompressed content hashes to ${diff.digest}, the image config says ${job.diffId}`);
  }
  return result;
}

/** An error sent back from a worker, as the class the main thread maps to a CRI outcome. */
export function remoteError(name: string, message: string): Error {
  let err: Error;
  if (name === 'VerifyError') err = new VerifyError(message);
  else if (name === 'TarError') err = new TarError(message);
  else if (name === 'LayerLimitError') err = new LayerLimitError(message);
  else if (name === 'UnsafeEntryError') {
    err = new UnsafeEntryError('', '');
    err.message = message;
  } else {
    err = new Error(message);
    err.name = name;
  }
  return err;
}
