// Errors shaped like Node's own system errors (code 'ENOENT', errno -2,
// syscall), from the positive errno numbers the spawn server reports.
import { constants } from 'node:os';

const ERRNO_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** 'ECONNREFUSED' for 111; 'E<n>' for a number Node does not name. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

export interface SpawnErrnoError extends NodeJS.ErrnoException {
  spawnargs?: string[];
  address?: string;
  port?: number;
}

/** `${syscall} ${code}` unless a message is given, with code, errno (negative, as Node's) and syscall set. */
export function errnoError(errno: number, syscall: string, extra: { path?: string; message?: string } = {}): SpawnErrnoError {
  const code = errnoName(errno);
  const err: SpawnErrnoError = new Error(extra.message ?? `${syscall} ${code}`);
  err.code = code;
  err.errno = -errno;
  err.syscall = syscall;
  if (extra.path !== undefined) err.path = extra.path;
  return err;
}
