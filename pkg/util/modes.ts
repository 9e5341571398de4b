// Files and directories with exactly the mode asked for. krilld runs with
// umask 077 (cmd/krilld/daemon.ts), so that anything made without a thought
// is private; what must be more open than that (a container's root
// directory, the pod files bind-mounted into containers) says so here and
// gets it whatever the umask, and an existing directory is brought to the
// mode too, as an upgrade from an older, more open layout needs.
import { chmod, chown, mkdir, open } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Private to root: directories Krill alone uses. */
export const PRIVATE_DIR = 0o700;
/** Private to root: files Krill alone reads (specs, records, the database). */
export const PRIVATE_FILE = 0o600;

/**
 * Creates `path` (and missing parents, which get the umask's private mode)
 * and sets its mode to `mode`, also when it already existed. With `gid`,
 * the directory's group becomes `gid` (owner stays root).
 */
export async function ensureDir(path: string, mode: number, gid?: number): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  if (gid !== undefined) await chown(path, 0, gid);
  await chmod(path, mode);
}

/** Writes `data` to `path` (replacing it) with exactly `mode`. */
export async function writeFileMode(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const fh = await open(path, 'w', mode);
  try {
    await fh.chmod(mode);
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
}

/**
 * mkdir -p with `mode` for every directory it creates (the umask does not
 * apply); existing ones keep theirs. For directories others use: a
 * container's, or a host path a container mounts.
 */
export async function mkdirpShared(path: string, mode: number): Promise<void> {
  const first = await mkdir(path, { recursive: true, mode });
  if (first === undefined) return;
  let dir = first;
  await chmod(dir, mode);
  for (const part of relative(first, path).split('/').filter(Boolean)) {
    dir = join(dir, part);
    await chmod(dir, mode);
  }
}
