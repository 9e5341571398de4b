// What a pod's ADD was run with, and what it returned, kept on disk so that
// DEL runs with the same config and the same result after a krilld restart or
// a config change. The entry is written before ADD (without a result) so that
// a crash in the middle still leaves enough to run DEL.
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../errors/errors';
import type { CniConfList } from './conf';
import type { CniRuntimeArgs } from './chain';

export interface CniCacheEntry {
  kind: 'krill-cni-cache-v1';
  podId: string;
  config: CniConfList;
  /** netns, ifName, CNI_ARGS and capabilities as ADD got them. */
  runtime: CniRuntimeArgs;
  /** Absent until ADD succeeded. */
  result?: unknown;
}

const ID_RE = /^[A-Za-z0-9_.-]+$/;

export class CniResultCache {
  constructor(readonly dir: string) {}

  private file(podId: string): string {
    if (!ID_RE.test(podId)) throw new Error(`invalid pod id ${JSON.stringify(podId)}`);
    return join(this.dir, `${podId}.json`);
  }

  async write(entry: CniCacheEntry): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = this.file(entry.podId);
    const tmp = `${file}.tmp`;
    await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await rename(tmp, file);
  }

  async read(podId: string): Promise<CniCacheEntry | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.file(podId), 'utf8')) as CniCacheEntry;
      return entry.kind === 'krill-cni-cache-v1' ? entry : undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  /** The pods with a cached entry (a network set up, or being set up). */
  async podIds(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length)).filter((id) => ID_RE.test(id));
  }

  async remove(podId: string): Promise<void> {
    try {
      await unlink(this.file(podId));
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
  }
}
