// SPDY/3 header block compression: one zlib stream per direction, primed with
// the SPDY/3 dictionary, each frame's block ending in a Z_SYNC_FLUSH.
//
// Node's zlib streams are asynchronous, which would force frame handling out
// of order. Both directions are therefore done with one-shot raw deflate calls
// carrying the stream's state explicitly: after a sync flush every deflate
// block is complete and byte-aligned, so the only state shared with later
// frames is the LZ77 window (the last 32 KiB of uncompressed header bytes,
// starting with the dictionary). Priming each call with that window yields
// exactly the bytes a continuous zlib context would accept or produce.
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary';

const WINDOW_BYTES = 32 * 1024;
const ZLIB_DEFLATE_METHOD = 8;
const FDICT = 0x20;

export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  // 5552 is the largest run for which b cannot overflow 2^32 before the modulo.
  for (let i = 0; i < data.length; ) {
    const end = Math.min(i + 5552, data.length);
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

export const SPDY3_DICTIONARY_ID = adler32(SPDY3_DICTIONARY);

export class HeaderCompressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HeaderCompressionError';
  }
}

function slide(window: Buffer, added: Buffer): Buffer {
  if (added.length >= WINDOW_BYTES) return Buffer.from(added.subarray(added.length - WINDOW_BYTES));
  const keep = Math.min(window.length, WINDOW_BYTES - added.length);
  return Buffer.concat([window.subarray(window.length - keep), added]);
}

/** The sending side: compresses each header block as the next piece of one zlib stream. */
export class HeaderCompressor {
  private window: Buffer = SPDY3_DICTIONARY;
  private started = false;

  compress(block: Buffer): Buffer {
    const body = deflateRawSync(block, {
      dictionary: this.window,
      finishFlush: constants.Z_SYNC_FLUSH,
      level: constants.Z_BEST_COMPRESSION,
    });
    this.window = slide(this.window, block);
    if (this.started) return body;
    this.started = true;
    return Buffer.concat([zlibHeader(), body]);
  }
}

/** The zlib stream header: deflate, 32 KiB window, best compression, preset dictionary. */
function zlibHeader(): Buffer {
  const header = Buffer.alloc(6);
  const cmf = (7 << 4) | ZLIB_DEFLATE_METHOD;
  let flg = (3 << 6) | FDICT;
  flg |= 31 - ((cmf * 256 + flg) % 31);
  header[0] = cmf;
  header[1] = flg;
  header.writeUInt32BE(SPDY3_DICTIONARY_ID, 2);
  return header;
}

/** The receiving side: decompresses each frame's header block in stream order. */
export class HeaderDecompressor {
  private window: Buffer = Buffer.alloc(0);
  private started = false;

  constructor(private readonly maxBlockBytes: number) {}

  decompress(block: Buffer): Buffer {
    let body = block;
    if (!this.started) {
      if (block.length < 2) throw new HeaderCompressionError('header block too short for a zlib header');
      const cmf = block[0]!;
      const flg = block[1]!;
      if ((cmf & 0x0f) !== ZLIB_DEFLATE_METHOD || (cmf * 256 + flg) % 31 !== 0) {
        throw new HeaderCompressionError('header block does not start a zlib stream');
      }
      if (flg & FDICT) {
        if (block.length < 6) throw new HeaderCompressionError('header block too short for a dictionary id');
        if (block.readUInt32BE(2) !== SPDY3_DICTIONARY_ID) throw new HeaderCompressionError('header block uses an unknown dictionary');
        this.window = SPDY3_DICTIONARY;
        body = block.subarray(6);
      } else {
        body = block.subarray(2);
      }
      this.started = true;
    }
    let out: Buffer;
    try {
      out = inflateRawSync(body, {
        ...(this.window.length > 0 ? { dictionary: this.window } : {}),
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: this.maxBlockBytes,
      });
    } catch (err) {
      throw new HeaderCompressionError(`corrupt header block: ${(err as Error).message}`);
    }
    this.window = slide(this.window, out);
    return out;
  }
}
