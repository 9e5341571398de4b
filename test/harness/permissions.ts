// The modes of what krilld makes on the node, against a short allow-list:
// nothing group- or world-accessible unless a named consumer needs it. And
// a host user's view: commands run as nobody, to show what it can reach.
import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, writeFileSync, type Stats } from 'node:fs';
import { join, relative } from 'node:path';
import { readMountPointsSync } from '../../pkg/storage/mount';

/** A path more open than 0700/0600 that is allowed, and why. */
export interface Allowance {
  /** Relative to the walked root; `*` matches one path component. */
  pattern: string;
  /** The most open mode allowed (permission bits and setuid/setgid/sticky). */
  mode: number;
  why: string;
  /** Do not look below it (a mount point, or an image's own content). */
  stop?: boolean;
}

export interface Violation {
  path: string;
  mode: string;
  type: string;
}

function matches(pattern: string, rel: string): boolean {
  const p = pattern.split('/');
  const r = rel.split('/');
  return p.length === r.length && p.every((part, i) => part === '*' || part === r[i]);
}

function typeOf(st: Stats): string {
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSocket()) return 'socket';
  if (st.isFIFO()) return 'fifo';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

/**
 * Walks `root` (not following symlinks, not crossing into mounts) and
 * returns every entry whose mode gives group or others any access that its
 * allowance (if any) does not cover. Symlinks have no mode of their own.
 */
export function openModes(root: string, allow: readonly Allowance[]): Violation[] {
  const mounts = new Set(readMountPointsSync());
  const out: Violation[] = [];
  const visit = (path: string): void => {
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch {
      return; // gone meanwhile
    }
    if (st.isSymbolicLink()) return;
    const rel = relative(root, path) || '.';
    const a = allow.find((x) => matches(x.pattern, rel));
    const bits = st.mode & 0o7777;
    const open = bits & 0o077;
    if (open !== 0 && (!a || (bits & ~a.mode) !== 0)) out.push({ path: rel, mode: bits.toString(8).padStart(4, '0'), type: typeOf(st) });
    if (!st.isDirectory() || a?.stop || (mounts.has(path) && path !== root)) return;
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const n of names) visit(join(path, n));
  };
  visit(root);
  return out;
}

export const NOBODY = 65534;

/** Runs `argv` as the host user nobody (no groups); its exit status and output. */
export function asNobody(argv: string[]): { status: number | null; stdout: string; stderr: string } {
  // setpriv keeps its capabilities until it execs: the path of `argv[0]` would be looked up as root.
  // A shell started as nobody looks it up as nobody.
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--inh-caps=-all', '--', '/bin/sh', '-c', 'exec "$@"', 'sh', ...argv], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Compiles a static program printing its effective uid (for a setuid copy inside a container). */
export function buildShowEuid(dir: string): string {
  const src = join(dir, 'show-euid.c');
  const bin = join(dir, 'show-euid');
  writeFileSync(src, '#include <stdio.h>\n#include <unistd.h>\nint main(void) { printf("euid=%u\\n", (unsigned)geteuid()); return 0; }\n');
  execFileSync('cc', ['-static', '-O2', '-o', bin, src]);
  return bin;
}
