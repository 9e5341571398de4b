// Paths inside a container's root filesystem, resolved the way the container
// would see them: symlinks are followed, but an absolute link or ".." never
// leads above the root. Used before the container runs (reading its
// /etc/passwd, creating its working directory), when the tree is Krill's to
// trust only as far as this resolution goes.
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno, KrillError } from '../errors/errors';
import { mkdirpShared } from '../util/modes';

const MAX_LINKS = 255;

/**
 * The host path of `path` (absolute, as the container sees it) inside `root`,
 * with every symlink resolved inside the root. Components that do not exist
 * are kept as they are (so the result may name something to create).
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const pending = path.split('/').filter((p) => p !== '' && p !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = join(root, ...resolved, part);
    let st;
    try {
      st = await lstat(host);
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) {
        resolved.push(part, ...pending.filter((p) => p !== '..'));
        // ".." after a missing component cannot be resolved safely; drop what follows it.
        return join(root, ...normalize(resolved));
      }
      throw err;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw new KrillError('InvalidArgument', `too many symbolic links resolving ${path}`);
      const target = await readlink(host);
      const targetParts = target.split('/').filter((p) => p !== '' && p !== '.');
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...targetParts);
      continue;
    }
    resolved.push(part);
  }
  return join(root, ...resolved);
}

function normalize(parts: string[]): string[] {
  const out: string[] = [];
  for (const p of parts) {
    if (p === '..') out.pop();
    else out.push(p);
  }
  return out;
}

/** The contents of `path` inside `root`, or undefined when it does not exist. */
export async function readFileInRoot(root: string, path: string, maxBytes = 4 * 1024 * 1024): Promise<string | undefined> {
  const host = await resolveInRoot(root, path);
  try {
    const st = await lstat(host);
    if (!st.isFile()) return undefined;
    if (st.size > maxBytes) throw new KrillError('InvalidArgument', `${path} in the image is larger than ${maxBytes} bytes`);
    return await readFile(host, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** Creates directory `path` (and its parents) inside `root`, never outside it. */
export async function mkdirInRoot(root: string, path: string, mode = 0o755): Promise<string> {
  // Resolve one component at a time so that a symlink created in between is resolved too.
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  let current = '/';
  let host = root;
  for (const part of parts) {
    current = current === '/' ? `/${part}` : `${current}/${part}`;
    host = await resolveInRoot(root, current);
    try {
      // A symlink may lead to several missing components at once: they hold no links yet.
      await mkdirpShared(host, mode);
    } catch (err) {
      if (!isErrno(err, 'EEXIST') && !isErrno(err, 'ENOTDIR')) throw err;
    }
    const st = await lstat(host).catch(() => undefined);
    if (!st?.isDirectory()) throw new KrillError('InvalidArgument', `${current} exists in the container and is not a directory`);
  }
  return host;
}

