// Terminal resize events: clients write a stream of JSON objects
// ({"Width":80,"Height":24}, as Go's json.Encoder does, one per line) on the
// resize stream or channel. The decoder cuts that byte stream into objects;
// the queue hands sizes to the backend, keeping only the newest unread one.
import type { TerminalSize } from './backend';

const MAX_OBJECT_BYTES = 4096;

/** Splits a byte stream into top-level JSON objects and reads terminal sizes from them. */
export class ResizeDecoder {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scanned = 0;
  /** Set once the stream stops being a sequence of JSON objects; later input is ignored. */
  broken = false;

  /** Returns the sizes completed by `chunk`. Objects that are not sizes are skipped. */
  push(chunk: Buffer | string): TerminalSize[] {
    if (this.broken) return [];
    this.buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const sizes: TerminalSize[] = [];
    let start = 0;
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i]!;
      if (this.depth === 0) {
        if (c === '{') {
          this.depth = 1;
          start = i;
        } else if (!/\s/.test(c)) {
          this.broken = true;
          return sizes;
        } else {
          start = i + 1;
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0) {
          const size = parseSize(this.buf.slice(start, i + 1));
          if (size) sizes.push(size);
          start = i + 1;
        }
      }
    }
    this.buf = this.buf.slice(this.depth === 0 ? this.buf.length : start);
    this.scanned = this.buf.length;
    if (this.buf.length > MAX_OBJECT_BYTES) this.broken = true;
    return sizes;
  }
}

function parseSize(text: string): TerminalSize | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  // Go's decoder matches field names case-insensitively.
  let width = 0;
  let height = 0;
  for (const [k, v] of Object.entries(obj)) {
    const key = k.toLowerCase();
    if (key !== 'width' && key !== 'height') continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) return undefined;
    if (key === 'width') width = v;
    else height = v;
  }
  return { width, height };
}

/** An async iterable of terminal sizes that keeps only the newest size not yet taken. */
export class ResizeQueue implements AsyncIterable<TerminalSize> {
  private latest: TerminalSize | undefined;
  private waiter: ((r: IteratorResult<TerminalSize>) => void) | undefined;
  private ended = false;

  push(size: TerminalSize): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: size, done: false });
    } else {
      this.latest = size;
    }
  }

  end(): void {
    this.ended = true;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<TerminalSize> {
    return {
      next: (): Promise<IteratorResult<TerminalSize>> => {
        if (this.latest) {
          const value = this.latest;
          this.latest = undefined;
          return Promise.resolve({ value, done: false });
        }
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      return: (): Promise<IteratorResult<TerminalSize>> => {
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
