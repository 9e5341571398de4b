// Streams that check what passes through them: a blob's size and sha256
// against its descriptor (more bytes than declared fail at once, whatever
// Content-Length said), and the sha256 of a decompressed layer (its diff ID).
import { createHash, type Hash } from 'node:crypto';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip, createZstdDecompress, constants as zlibConstants } from 'node:zlib';
import { LayerLimitError } from '../storage/unpack_limits';

export class VerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifyError';
  }
}

/** Passes bytes through while counting and hashing them; fails on the first byte past `size`. */
export class DigestVerifier extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  constructor(
    private readonly digest: string,
    private readonly size: number,
    private readonly what: string,
    private readonly onBytes?: (n: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.size) {
      cb(new VerifyError(`${this.what}: the registry sent more than the ${this.size} bytes its descriptor declares`));
      return;
    }
    this.hash.update(chunk);
    this.onBytes?.(chunk.length);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.bytes !== this.size) {
      cb(new VerifyError(`${this.what}: got ${this.bytes} bytes, its descriptor declares ${this.size}`));
      return;
    }
    const got = `sha256:${this.hash.digest('hex')}`;
    if (got !== this.digest) {
      cb(new VerifyError(`${this.what}: content does not match its digest (got ${got})`));
      return;
    }
    cb();
  }
}

const CHUNK = 128 * 1024;

/** zstd's own default limit: a window of 128 MiB, which a decompressor must hold in memory. */
export const DEFAULT_ZSTD_WINDOW_LOG_MAX = 27;

export interface DecompressOptions {
  /** The largest zstd window accepted, as a power of two. */
  zstdWindowLogMax?: number;
}

function decompressorFor(head: Buffer, opts: DecompressOptions): Transform | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return createGunzip({ chunkSize: CHUNK });
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) {
    return createZstdDecompress({ chunkSize: CHUNK, params: { [zlibConstants.ZSTD_d_windowLogMax]: opts.zstdWindowLogMax ?? DEFAULT_ZSTD_WINDOW_LOG_MAX } });
  }
  return undefined;
}

/**
 * Decompresses by what the data is (gzip and zstd magic numbers), not by
 * what the media type says; anything else passes through as a plain tar.
 */
export async function* decompress(source: AsyncIterable<Buffer>, opts: DecompressOptions = {}): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLen = 0;
  let ended = false;
  while (headLen < 4) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    head.push(r.value);
    headLen += r.value.length;
  }
  const first = Buffer.concat(head);
  async function* all(): AsyncGenerator<Buffer> {
    if (first.length) yield first;
    while (!ended) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  const d = decompressorFor(first, opts);
  if (!d) {
    yield* all();
    return;
  }
  const out = pipeline(Readable.from(all(), { objectMode: false }), d, () => undefined);
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ZSTD_error_frameParameter_windowTooLarge') {
      const log = opts.zstdWindowLogMax ?? DEFAULT_ZSTD_WINDOW_LOG_MAX;
      throw new LayerLimitError(`has zstd data that needs a window larger than 2^${log} bytes (image.zstd_max_window_log is ${log})`);
    }
    throw err;
  } finally {
    out.destroy();
  }
}

/** Passes chunks through while hashing them; `result.digest` is set once the source is exhausted. */
export function hashing(source: AsyncIterable<Buffer>, result: { digest?: string; bytes: number }): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  return (async function* () {
    for await (const chunk of source) {
      hash.update(chunk);
      result.bytes += chunk.length;
      yield chunk;
    }
    result.digest = `sha256:${hash.digest('hex')}`;
  })();
}
