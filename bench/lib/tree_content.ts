// File contents for the bench images (bench/gen_tree.ts), three kinds that
// compress with gzip about as their real counterparts do:
//   text    source code, headers, JSON, docs (identifiers from a shared
//           vocabulary, Zipf-like, in indented lines): about 4×
//   binary  executables and shared objects (snippets repeated from a
//           dictionary between literal bytes and zero runs): about 2.5×
//   random  already compressed data (.gz, .png, .woff2): 1×
// Every file's bytes come from a generator seeded with its path, so the same
// path always gets the same bytes.
import { Prng } from './prng';

export type ContentKind = 'text' | 'binary' | 'random';

/** Uncompressed ÷ compressed for each kind in a layer as umoci gzips it (zlib at level 6 does 5-10 % better); the plan's size estimate uses it. */
export const GZIP_RATIO: Record<ContentKind, number> = { text: 3.65, binary: 2.4, random: 1 };

const SYLLABLES = ['ba', 'co', 'de', 'fi', 'gu', 'ha', 'ji', 'ko', 'lu', 'ma', 'ne', 'po', 'qui', 'ra', 'se', 'ti', 'vu', 'wa', 'xe', 'yo', 'zu', 'st', 'tr', 'ch', 'pl', 'nd', 'er', 'on', 'al', 'in'];

/** A lowercase name of 1 to `most` syllables. */
export function syllableName(rng: Prng, least = 1, most = 3): string {
  let s = '';
  const n = rng.int(least, most + 1);
  for (let i = 0; i < n; i++) s += rng.pick(SYLLABLES);
  return s;
}

const PUNCT = ['(', ')', '.', ', ', ' = ', ';', ' {', '}', ': ', ' => ', '[', ']', ' + ', ' && ', '"', "'"].map((p) => Buffer.from(p));
const NEWLINE = 0x0a;
const SPACE = 0x20;

export class ContentMaker {
  private readonly words: Buffer[];
  private readonly phrases: Buffer[];
  private readonly snippets: Buffer[];

  /** `seed` fixes the vocabulary and the snippet dictionary (one per image). */
  constructor(seed: string) {
    const rng = new Prng(`${seed}/vocabulary`);
    const words = new Set<string>(['const', 'return', 'function', 'if', 'else', 'export', 'import', 'this', 'null', 'true', 'false', 'new', 'string', 'number']);
    while (words.size < 3000) {
      const w = syllableName(rng, 1, 4);
      words.add(rng.float() < 0.3 ? w[0]!.toUpperCase() + w.slice(1) : w);
    }
    this.words = [...words].map((w) => Buffer.from(w));
    // Code repeats whole phrases (calls, declarations, property chains), not only words.
    this.phrases = Array.from({ length: 2048 }, () => {
      const parts: Buffer[] = [];
      const n = rng.int(2, 7);
      for (let i = 0; i < n; i++) {
        parts.push(this.words[rng.skewed(this.words.length)]!);
        parts.push(i === n - 1 ? Buffer.from(' ') : PUNCT[rng.skewed(PUNCT.length)]!);
      }
      return Buffer.concat(parts);
    });
    this.snippets = Array.from({ length: 1024 }, () => {
      const b = Buffer.alloc(rng.int(3, 28));
      rng.fill(b);
      return b;
    });
  }

  /** `size` bytes of `kind` for the file at `path`. */
  make(kind: ContentKind, size: number, path: string): Buffer {
    const rng = new Prng(`content:${path}`);
    const out = Buffer.alloc(size);
    if (kind === 'random') rng.fill(out);
    else if (kind === 'text') this.text(rng, out);
    else this.binary(rng, out);
    return out;
  }

  private text(rng: Prng, out: Buffer): void {
    let pos = 0;
    const put = (b: Buffer): void => {
      const n = Math.min(b.length, out.length - pos);
      b.copy(out, pos, 0, n);
      pos += n;
    };
    while (pos < out.length) {
      const indent = 2 * rng.int(0, 5);
      for (let i = 0; i < indent && pos < out.length; i++) out[pos++] = SPACE;
      const n = rng.int(1, 4);
      for (let t = 0; t < n && pos < out.length; t++) {
        put(this.phrases[rng.skewed(this.phrases.length)]!);
        if (rng.float() < 0.2 && pos < out.length) put(this.words[rng.int(0, this.words.length)]!);
      }
      if (pos < out.length) out[pos++] = NEWLINE;
    }
  }

  private binary(rng: Prng, out: Buffer): void {
    let pos = 0;
    while (pos < out.length) {
      const r = rng.float();
      if (r < 0.6) {
        const s = this.snippets[rng.skewed(this.snippets.length)]!;
        const n = Math.min(s.length, out.length - pos);
        s.copy(out, pos, 0, n);
        pos += n;
      } else if (r < 0.88) {
        const n = Math.min(rng.int(1, 9), out.length - pos);
        rng.fill(out, pos, pos + n);
        pos += n;
      } else {
        pos += Math.min(rng.int(1, 24), out.length - pos); // zeros: Buffer.alloc cleared them
      }
    }
  }
}
