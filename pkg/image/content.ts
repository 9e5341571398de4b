// The content store: verified blobs under <root>/content/blobs/sha256/<hex>.
// Krill keeps manifests, indexes and configs here; layers are verified in
// flight and kept only unpacked (pkg/storage/layers.ts), so an image costs
// its unpacked size once. A blob is written to ingest/ and renamed under its
// digest only after its digest and size check, so a half-written blob is
// never visible under a digest.
import { Leases } from '../util/leases';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../errors/errors';
import type { Logger } from '../log/logger';
import { KeyedMutex } from '../util/keyed_mutex';
import { hexOf, isSha256Digest, sha256Digest } from './digest';

export class ContentStore {
  private readonly leases = new Leases();
  private readonly locks = new KeyedMutex();

  private constructor(
    /** <root>/content */
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  static async open(dir: string, log: Logger): Promise<ContentStore> {
    const s = new ContentStore(dir, log.child({ component: 'content' }));
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
    // Whatever is in ingest/ was being written when krilld stopped.
    await rm(join(dir, 'ingest'), { recursive: true, force: true });
    await mkdir(join(dir, 'ingest'), { recursive: true, mode: 0o700 });
    return s;
  }

  path(digest: string): string {
    if (!isSha256Digest(digest)) throw new Error(`invalid digest ${JSON.stringify(digest)}`);
    return join(this.dir, 'blobs', 'sha256', hexOf(digest));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
  }

  /** The blob's bytes, or undefined when it is not stored. */
  async read(digest: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(digest));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  /** Stores `bytes` under `digest` after checking that they hash to it; a blob already stored is kept. */
  async write(digest: string, bytes: Buffer): Promise<void> {
    const got = sha256Digest(bytes);
    if (got !== digest) throw new Error(`content for ${digest} hashes to ${got}`);
    await this.locks.run(digest, async () => {
      if (!(await this.has(digest))) await this.writeNew(digest, bytes);
    });
  }

  private async writeNew(digest: string, bytes: Buffer): Promise<void> {
    const final = this.path(digest);
    const tmp = join(this.dir, 'ingest', `${hexOf(digest).slice(0, 16)}-${randomBytes(4).toString('hex')}`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } catch (err) {
      await fh.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    await rename(tmp, final);
  }

  async delete(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  async list(): Promise<string[]> {
    return (await readdir(join(this.dir, 'blobs', 'sha256'))).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  async usage(): Promise<{ bytes: number; inodes: number }> {
    let bytes = 0;
    let inodes = 0;
    for (const d of await this.list()) {
      try {
        bytes += (await stat(this.path(d))).size;
        inodes++;
      } catch {
        // removed meanwhile
      }
    }
    return { bytes, inodes };
  }

  /** Protects blobs from gc() while a pull that wrote them has not recorded its image. */
  lease(digests: Iterable<string>): () => void {
    return this.leases.take(digests);
  }

  /** Deletes every blob that `isUsed` does not claim and no pull leases. */
  async gc(isUsed: (digest: string) => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const d of await this.list()) {
      if (isUsed(d) || this.leases.has(d)) continue;
      await this.locks.run(d, async () => {
        if (isUsed(d) || this.leases.has(d)) return;
        await this.delete(d);
        removed.push(d);
      });
    }
    if (removed.length) this.log.debug({ blobs: removed.length }, 'unused blobs removed');
    return removed;
  }
}
