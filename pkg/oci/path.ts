import { posix } from 'node:path';

/** Lexically cleans an absolute path: no "." or ".." parts, no repeated or trailing "/". */
export function cleanPath(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** How many components a clean absolute path has ("/" has 0, "/a/b" has 2). */
export function pathDepth(p: string): number {
  return p === '/' ? 0 : p.split('/').length - 1;
}
