// A small seeded pseudo-random generator for the bench images' generator
// (bench/gen_tree.ts): the same seed gives the same sequence on every machine
// and Node.js version (sfc32, seeded by a 128-bit string hash), so the images
// it describes have the same bytes, and the same digests, every build. Not
// for anything that needs real randomness.

/** cyrb128: a string to four 32-bit seeds. */
function hash128(s: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < s.length; i++) {
    const k = s.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  return [(h1 ^ h2 ^ h3 ^ h4) >>> 0, (h2 ^ h1) >>> 0, (h3 ^ h1) >>> 0, (h4 ^ h1) >>> 0];
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string) {
    [this.a, this.b, this.c, this.d] = hash128(seed);
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** A uniform integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo));
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from nothing');
    return xs[this.int(0, xs.length)]!;
  }

  /** An index in [0, n) skewed towards 0 (a few words or snippets are far more common, as in real files). */
  skewed(n: number): number {
    const f = this.float();
    return Math.min(n - 1, Math.floor(f * f * f * n));
  }

  /** A standard normal deviate (Box-Muller). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fills `buf` with uniform bytes. */
  fill(buf: Uint8Array, from = 0, to = buf.length): void {
    let i = from;
    for (; i + 4 <= to; i += 4) {
      const w = this.u32();
      buf[i] = w & 0xff;
      buf[i + 1] = (w >>> 8) & 0xff;
      buf[i + 2] = (w >>> 16) & 0xff;
      buf[i + 3] = w >>> 24;
    }
    if (i < to) {
      let w = this.u32();
      for (; i < to; i++, w >>>= 8) buf[i] = w & 0xff;
    }
  }
}

/** File sizes: log-normal around `median` (sigma is that of the log), clamped to [min, max]. */
export interface SizeDist {
  median: number;
  sigma: number;
  min: number;
  max: number;
}

export function sampleSize(rng: Prng, d: SizeDist): number {
  const s = Math.round(d.median * Math.exp(d.sigma * rng.normal()));
  return Math.min(d.max, Math.max(d.min, s));
}
