// Bounds on what one layer may cost to unpack, so that a crafted layer
// cannot tie up an unpack worker's CPU or memory: entries per layer
// (configurable), PAX headers (tar.ts) and the extended attributes kept
// until the layer's end.
import { KrillError } from '../errors/errors';

export interface UnpackLimits {
  /** Tar entries (files, directories, links, devices, whiteouts) per layer. */
  maxEntries: number;
}

/** A base image layer has some 10 000 to 20 000 entries; the largest real ones a few hundred thousand. */
export const DEFAULT_MAX_ENTRIES = 1_000_000;

/** Bytes of extended attributes (names and values) a layer may carry; they are kept until its end. */
export const MAX_XATTR_BYTES = 64 * 1024 * 1024;

/** A layer is over one of the bounds: the image, not the node, is at fault. */
export class LayerLimitError extends KrillError {
  constructor(message: string) {
    super('ResourceExhausted', message);
    this.name = 'LayerLimitError';
  }
}
