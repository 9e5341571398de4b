// What the bench images hold, layer by layer (bench/images.sh builds them,
// bench/gen_tree.ts writes each layer's files): a shape given as directory
// trees and groups of files with size distributions, expanded with a seeded
// generator into a fixed list of entries. The same spec always expands to the
// same entries, so the image has the same digest every build.
import { posix } from 'node:path';
import { Prng, sampleSize, type SizeDist } from './prng';
import { GZIP_RATIO, syllableName, type ContentKind } from './tree_content';

export interface Owner {
  uid: number;
  gid: number;
}

export type Xattr = [name: string, value: string];

export type Entry =
  | { type: 'dir'; path: string; mode: number; owner?: Owner }
  | { type: 'file'; path: string; size: number; kind: ContentKind; mode: number; owner?: Owner; xattrs?: Xattr[]; cap?: string }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'hardlink'; path: string; target: string };

/** Directories made under `root` (which may exist already), at most `depth` levels below it. */
export interface TreeSpec {
  name: string;
  root: string;
  dirs: number;
  depth: number;
  owner?: Owner;
}

/** Files spread at random over a tree's directories (its root included). */
export interface GroupSpec {
  /** For hard-link farms to refer to. */
  id?: string;
  tree: string;
  files: number;
  size: SizeDist;
  kind: ContentKind;
  /** File name endings, one picked per file ('' for none). */
  ext: readonly string[];
  mode?: number;
  /** Symlinks to files of the group, each beside its target (libfoo.so → libfoo.so.1.2). */
  symlinks?: number;
  /** The share of the files that get user.* xattrs. */
  xattrShare?: number;
  owner?: Owner;
}

/** One named file (a big binary, busybox, a file with capabilities). */
export interface FixedSpec {
  path: string;
  size: number;
  kind: ContentKind;
  mode?: number;
  /** A capability set as `setcap` takes it (cap_net_bind_service+ep). */
  cap?: string;
  xattrShare?: number;
}

/** Hard links to files of a group (or to fixed files), spread over a tree (busybox applets, deduplicated node_modules). */
export interface FarmSpec {
  /** A group id, or fixed files' paths. */
  to: string | readonly string[];
  tree: string;
  links: number;
  ext?: readonly string[];
}

export interface LayerSpec {
  createdBy: string;
  trees?: TreeSpec[];
  groups?: GroupSpec[];
  fixed?: FixedSpec[];
  farms?: FarmSpec[];
}

export interface ImageSpec {
  name: string;
  description: string;
  layers: LayerSpec[];
}

export interface LayerPlan {
  createdBy: string;
  entries: Entry[];
}

const KB = 1024;
const MB = 1024 * 1024;

const dist = (median: number, sigma: number, min: number, max: number): SizeDist => ({ median, sigma, min, max });

/** A language-runtime image: Debian-like base, system packages, a runtime with big binaries, node_modules. */
export const MANY_FILES: ImageSpec = {
  name: 'many-files',
  description: 'a language-runtime image: a Debian-like base, system packages, a runtime with a few big binaries, a node_modules tree of many small files',
  layers: [
    {
      createdBy: 'krill-bench: base system (Debian-like)',
      trees: [
        { name: 'bin', root: '/usr/bin', dirs: 0, depth: 0 },
        { name: 'sbin', root: '/usr/sbin', dirs: 0, depth: 0 },
        { name: 'lib', root: '/usr/lib/x86_64-linux-gnu', dirs: 14, depth: 1 },
        { name: 'doc', root: '/usr/share/doc', dirs: 60, depth: 1 },
        { name: 'man', root: '/usr/share/man', dirs: 8, depth: 1 },
        { name: 'zoneinfo', root: '/usr/share/zoneinfo', dirs: 14, depth: 2 },
        { name: 'perl', root: '/usr/share/perl5', dirs: 24, depth: 3 },
        { name: 'dpkg', root: '/var/lib/dpkg/info', dirs: 0, depth: 0 },
        { name: 'etc', root: '/etc', dirs: 18, depth: 2 },
      ],
      groups: [
        { tree: 'bin', files: 300, size: dist(40 * KB, 1.0, 2 * KB, 3 * MB), kind: 'binary', ext: [''], mode: 0o755 },
        { tree: 'sbin', files: 70, size: dist(30 * KB, 1.0, 2 * KB, 2 * MB), kind: 'binary', ext: [''], mode: 0o755 },
        { tree: 'lib', files: 190, size: dist(95 * KB, 1.2, 4 * KB, 6 * MB), kind: 'binary', ext: ['.so.1', '.so.2', '.so.6', '.so.0.12.0'], symlinks: 150 },
        { tree: 'doc', files: 180, size: dist(3 * KB, 1.0, 200, 200 * KB), kind: 'text', ext: [''] },
        { tree: 'doc', files: 90, size: dist(2 * KB, 1.0, 200, 100 * KB), kind: 'random', ext: ['.gz'] },
        { tree: 'man', files: 600, size: dist(2 * KB, 0.8, 300, 60 * KB), kind: 'random', ext: ['.1.gz', '.8.gz', '.5.gz'] },
        { tree: 'zoneinfo', files: 600, size: dist(1500, 0.6, 100, 8 * KB), kind: 'binary', ext: [''] },
        { tree: 'perl', files: 350, size: dist(8 * KB, 1.0, 300, 300 * KB), kind: 'text', ext: ['.pm', '.pl'] },
        { tree: 'dpkg', files: 600, size: dist(1500, 1.2, 40, 200 * KB), kind: 'text', ext: ['.list', '.md5sums', '.postinst', '.triggers'] },
        { tree: 'etc', files: 180, size: dist(1 * KB, 1.0, 20, 40 * KB), kind: 'text', ext: ['', '.conf', '.d'] },
      ],
      fixed: [
        { path: '/usr/lib/x86_64-linux-gnu/libc.so.6', size: 2 * MB, kind: 'binary', mode: 0o755 },
        { path: '/usr/bin/bash', size: 1300 * KB, kind: 'binary', mode: 0o755 },
      ],
    },
    {
      createdBy: 'krill-bench: system packages (ca-certificates, curl, git, python3)',
      trees: [
        { name: 'py', root: '/usr/lib/python3.11', dirs: 40, depth: 3 },
        { name: 'certs', root: '/usr/share/ca-certificates/mozilla', dirs: 0, depth: 0 },
        { name: 'lib', root: '/usr/lib/x86_64-linux-gnu', dirs: 0, depth: 0 },
      ],
      groups: [
        { tree: 'py', files: 1700, size: dist(6 * KB, 1.1, 0, 400 * KB), kind: 'text', ext: ['.py'] },
        { tree: 'py', files: 60, size: dist(160 * KB, 1.0, 8 * KB, 3 * MB), kind: 'binary', ext: ['.cpython-311-x86_64-linux-gnu.so'] },
        { tree: 'certs', files: 140, size: dist(2 * KB, 0.3, 1 * KB, 6 * KB), kind: 'text', ext: ['.crt'], symlinks: 140 },
        { tree: 'lib', files: 40, size: dist(200 * KB, 1.0, 8 * KB, 4 * MB), kind: 'binary', ext: ['.so.3', '.so.4'], symlinks: 40 },
      ],
      fixed: [
        { path: '/usr/bin/python3.11', size: 6 * MB, kind: 'binary', mode: 0o755 },
        { path: '/usr/bin/git', size: 4 * MB, kind: 'binary', mode: 0o755 },
        { path: '/usr/bin/curl', size: 300 * KB, kind: 'binary', mode: 0o755 },
      ],
    },
    {
      createdBy: 'krill-bench: the language runtime (node, npm, headers)',
      trees: [
        { name: 'include', root: '/usr/local/include/node', dirs: 30, depth: 2 },
        { name: 'npm', root: '/usr/local/lib/node_modules/npm', dirs: 90, depth: 3 },
        { name: 'home', root: '/home/node', dirs: 2, depth: 1, owner: { uid: 1000, gid: 1000 } },
      ],
      groups: [
        { tree: 'include', files: 700, size: dist(6 * KB, 1.1, 100, 300 * KB), kind: 'text', ext: ['.h'] },
        { tree: 'npm', files: 1700, size: dist(2500, 1.3, 0, 300 * KB), kind: 'text', ext: ['.js', '.js', '.js', '.json', '.md'] },
        { tree: 'npm', files: 400, size: dist(1500, 1.0, 0, 60 * KB), kind: 'text', ext: ['.d.ts', '.map'] },
        { tree: 'home', files: 6, size: dist(500, 0.5, 10, 4 * KB), kind: 'text', ext: ['', '.rc'], owner: { uid: 1000, gid: 1000 } },
      ],
      fixed: [
        { path: '/usr/local/bin/node', size: 80 * MB, kind: 'binary', mode: 0o755 },
        { path: '/usr/local/lib/libnode.so.115', size: 6 * MB, kind: 'binary', mode: 0o755 },
      ],
    },
    {
      createdBy: 'krill-bench: package managers (yarn, corepack)',
      trees: [
        { name: 'yarn', root: '/opt/yarn-v1.22.19', dirs: 6, depth: 2 },
        { name: 'corepack', root: '/usr/local/lib/node_modules/corepack', dirs: 16, depth: 2 },
      ],
      groups: [
        { tree: 'yarn', files: 30, size: dist(3 * KB, 1.0, 100, 60 * KB), kind: 'text', ext: ['.js', '.json', ''] },
        { tree: 'corepack', files: 280, size: dist(3 * KB, 1.2, 0, 200 * KB), kind: 'text', ext: ['.js', '.json', '.d.ts'] },
      ],
      fixed: [{ path: '/opt/yarn-v1.22.19/lib/cli.js', size: 5 * MB, kind: 'text' }],
    },
    {
      createdBy: 'krill-bench: npm ci (the application\'s node_modules)',
      trees: [{ name: 'nm', root: '/app/node_modules', dirs: 170, depth: 3 }],
      groups: [
        { tree: 'nm', files: 6300, size: dist(2500, 1.3, 0, 600 * KB), kind: 'text', ext: ['.js', '.js', '.cjs', '.mjs'] },
        { tree: 'nm', files: 1800, size: dist(1500, 1.0, 0, 80 * KB), kind: 'text', ext: ['.d.ts'] },
        { tree: 'nm', files: 800, size: dist(1 * KB, 0.6, 100, 20 * KB), kind: 'text', ext: ['.json'] },
        { tree: 'nm', files: 600, size: dist(3 * KB, 1.0, 0, 60 * KB), kind: 'text', ext: ['.md'] },
        { tree: 'nm', files: 400, size: dist(8 * KB, 1.1, 100, 1 * MB), kind: 'text', ext: ['.map'] },
        { tree: 'nm', files: 12, size: dist(1500 * KB, 0.5, 200 * KB, 8 * MB), kind: 'binary', ext: ['.node'], mode: 0o755 },
        { tree: 'nm', files: 150, size: dist(12 * KB, 1.2, 200, 2 * MB), kind: 'random', ext: ['.png', '.woff2', '.gz'] },
      ],
    },
    {
      createdBy: 'krill-bench: the application',
      trees: [{ name: 'dist', root: '/app/dist', dirs: 10, depth: 2 }],
      groups: [{ tree: 'dist', files: 120, size: dist(5 * KB, 1.0, 100, 200 * KB), kind: 'text', ext: ['.js', '.js.map'] }],
      fixed: [{ path: '/app/package.json', size: 1200, kind: 'text' }],
    },
  ],
};

const APPLET_DIRS = ['/bin', '/sbin', '/usr/bin', '/usr/sbin'];

/** Hard links (busybox applets, a deduplicating package store) and xattrs (file capabilities, user.*). */
export const LINKS_XATTRS: ImageSpec = {
  name: 'links-xattrs',
  description: 'hard links (busybox-style applets, a deduplicating package store linked into three apps) and xattrs (file capabilities, user.*)',
  layers: [
    {
      createdBy: 'krill-bench: busybox-style base (applets as hard links)',
      trees: [
        ...APPLET_DIRS.map((d) => ({ name: d, root: d, dirs: 0, depth: 0 })),
        { name: 'etc', root: '/etc', dirs: 8, depth: 1 },
        { name: 'share', root: '/usr/share', dirs: 30, depth: 2 },
      ],
      fixed: [{ path: '/bin/busybox', size: 1100 * KB, kind: 'binary', mode: 0o755 }],
      farms: APPLET_DIRS.map((d) => ({ to: ['/bin/busybox'], tree: d, links: 100 })),
      groups: [
        { tree: 'etc', files: 60, size: dist(800, 1.0, 10, 20 * KB), kind: 'text', ext: ['', '.conf'] },
        { tree: 'share', files: 500, size: dist(3 * KB, 1.0, 100, 100 * KB), kind: 'text', ext: ['', '.txt', '.gz'] },
      ],
    },
    {
      createdBy: 'krill-bench: a content-addressed package store linked into three apps, user.* xattrs',
      trees: [
        { name: 'store', root: '/srv/store/files', dirs: 64, depth: 1 },
        { name: 'a', root: '/srv/app-a/node_modules', dirs: 40, depth: 2 },
        { name: 'b', root: '/srv/app-b/node_modules', dirs: 40, depth: 2 },
        { name: 'c', root: '/srv/app-c/node_modules', dirs: 40, depth: 2 },
      ],
      groups: [{ id: 'store', tree: 'store', files: 1200, size: dist(2 * KB, 1.2, 0, 200 * KB), kind: 'text', ext: ['-index.json', '', ''], xattrShare: 0.5 }],
      farms: ['a', 'b', 'c'].map((t) => ({ to: 'store', tree: t, links: 800, ext: ['.js', '.json', '.d.ts'] })),
    },
    {
      createdBy: 'krill-bench: file capabilities and labelled data',
      trees: [{ name: 'data', root: '/opt/data', dirs: 30, depth: 2 }],
      fixed: [
        ...['httpd', 'proxy', 'dns', 'ntpd', 'ldapd', 'smtpd'].map((n) => ({ path: `/usr/local/bin/${n}`, size: 200 * KB, kind: 'binary' as const, mode: 0o755, cap: 'cap_net_bind_service+ep' })),
        ...['ping', 'arping', 'traceroute'].map((n) => ({ path: `/usr/local/bin/${n}`, size: 60 * KB, kind: 'binary' as const, mode: 0o755, cap: 'cap_net_raw+ep' })),
        { path: '/usr/local/bin/netctl', size: 120 * KB, kind: 'binary', mode: 0o755, cap: 'cap_net_admin,cap_net_raw+eip' },
        { path: '/usr/local/bin/clockd', size: 80 * KB, kind: 'binary', mode: 0o755, cap: 'cap_sys_time+ep', xattrShare: 1 },
      ],
      groups: [{ id: 'data', tree: 'data', files: 600, size: dist(4 * KB, 1.0, 0, 100 * KB), kind: 'text', ext: ['.txt', '.csv', '.json'], xattrShare: 0.8 }],
      farms: [{ to: 'data', tree: 'data', links: 300, ext: ['.txt', '.csv'] }],
    },
  ],
};

export const IMAGES: readonly ImageSpec[] = [MANY_FILES, LINKS_XATTRS];

export function imageSpec(name: string): ImageSpec {
  const s = IMAGES.find((i) => i.name === name);
  if (!s) throw new Error(`no bench image ${name} (${IMAGES.map((i) => i.name).join(', ')})`);
  return s;
}

const MIME: Record<string, string> = { '.js': 'text/javascript', '.json': 'application/json', '.txt': 'text/plain', '.csv': 'text/csv' };

function xattrsFor(rng: Prng, path: string): Xattr[] {
  let hex = '';
  for (let i = 0; i < 8; i++) hex += rng.u32().toString(16).padStart(8, '0');
  const out: Xattr[] = [['user.checksum.sha256', hex]];
  const mime = MIME[posix.extname(path)];
  if (mime) out.push(['user.mime_type', mime]);
  if (rng.float() < 0.3) out.push(['user.krill.bench.origin', `generated ${posix.basename(path)}`]);
  return out;
}

/** Expands an image's spec into its entries, layer by layer (names unique across the whole image). */
export function planImage(spec: ImageSpec): LayerPlan[] {
  const dirs = new Set<string>(['/']);
  const used = new Set<string>();
  const groups = new Map<string, string[]>();

  return spec.layers.map((layer, li) => {
    const entries: Entry[] = [];
    const rng = new Prng(`${spec.name}/${li}`);
    const ensureDir = (path: string, owner?: Owner): void => {
      if (dirs.has(path)) return;
      ensureDir(posix.dirname(path));
      dirs.add(path);
      used.add(path);
      entries.push({ type: 'dir', path, mode: 0o755, ...(owner ? { owner } : {}) });
    };
    const uniqueIn = (dir: string, ext: string): string => {
      for (;;) {
        const p = posix.join(dir, syllableName(rng, 2, 4) + ext);
        if (!used.has(p)) {
          used.add(p);
          return p;
        }
      }
    };

    const trees = new Map<string, string[]>();
    for (const t of layer.trees ?? []) {
      ensureDir(t.root, t.owner);
      const all = [{ path: t.root, depth: 0 }];
      for (let i = 0; i < t.dirs; i++) {
        const candidates = all.filter((d) => d.depth < t.depth);
        const parent = rng.pick(candidates);
        const path = uniqueIn(parent.path, '');
        dirs.add(path);
        entries.push({ type: 'dir', path, mode: 0o755, ...(t.owner ? { owner: t.owner } : {}) });
        all.push({ path, depth: parent.depth + 1 });
      }
      trees.set(t.name, all.map((d) => d.path));
    }
    const treeDirs = (name: string): string[] => {
      const t = trees.get(name);
      if (!t) throw new Error(`${spec.name} layer ${li}: no tree ${name}`);
      return t;
    };

    for (const f of layer.fixed ?? []) {
      ensureDir(posix.dirname(f.path));
      if (used.has(f.path)) throw new Error(`${spec.name}: ${f.path} twice`);
      used.add(f.path);
      entries.push({
        type: 'file',
        path: f.path,
        size: f.size,
        kind: f.kind,
        mode: f.mode ?? 0o644,
        ...(f.cap ? { cap: f.cap } : {}),
        ...(f.xattrShare && rng.float() < f.xattrShare ? { xattrs: xattrsFor(rng, f.path) } : {}),
      });
    }

    for (const g of layer.groups ?? []) {
      const where = treeDirs(g.tree);
      const made: string[] = [];
      for (let i = 0; i < g.files; i++) {
        const path = uniqueIn(rng.pick(where), rng.pick(g.ext));
        made.push(path);
        entries.push({
          type: 'file',
          path,
          size: sampleSize(rng, g.size),
          kind: g.kind,
          mode: g.mode ?? 0o644,
          ...(g.owner ? { owner: g.owner } : {}),
          ...(g.xattrShare && rng.float() < g.xattrShare ? { xattrs: xattrsFor(rng, path) } : {}),
        });
      }
      for (let i = 0; i < (g.symlinks ?? 0); i++) {
        const target = rng.pick(made);
        entries.push({ type: 'symlink', path: uniqueIn(posix.dirname(target), posix.extname(target)), target: posix.basename(target) });
      }
      if (g.id) groups.set(g.id, made);
    }

    for (const farm of layer.farms ?? []) {
      const targets = typeof farm.to === 'string' ? groups.get(farm.to) : farm.to;
      if (!targets || targets.length === 0) throw new Error(`${spec.name} layer ${li}: nothing to link to (${String(farm.to)})`);
      const where = treeDirs(farm.tree);
      for (let i = 0; i < farm.links; i++) {
        entries.push({ type: 'hardlink', path: uniqueIn(rng.pick(where), farm.ext ? rng.pick(farm.ext) : ''), target: rng.pick(targets) });
      }
    }
    return { createdBy: layer.createdBy, entries };
  });
}

export interface LayerStats {
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  /** Files with user.* xattrs. */
  xattrFiles: number;
  /** Files with a capability set. */
  capFiles: number;
  bytes: number;
  /** The gzip'd tar's expected size (GZIP_RATIO per kind, plus a compressed tar header per entry). */
  gzipEstimate: number;
}

/** What a tar header (512 bytes, mostly zeros and octal) costs in a gzip'd layer, roughly. */
const HEADER_GZIP_BYTES = 60;

export function layerStats(entries: readonly Entry[]): LayerStats {
  const s: LayerStats = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, xattrFiles: 0, capFiles: 0, bytes: 0, gzipEstimate: 0 };
  for (const e of entries) {
    s.gzipEstimate += HEADER_GZIP_BYTES;
    if (e.type === 'dir') s.dirs++;
    else if (e.type === 'symlink') s.symlinks++;
    else if (e.type === 'hardlink') s.hardlinks++;
    else {
      s.files++;
      s.bytes += e.size;
      s.gzipEstimate += e.size / GZIP_RATIO[e.kind];
      if (e.xattrs) s.xattrFiles++;
      if (e.cap) s.capFiles++;
    }
  }
  s.gzipEstimate = Math.round(s.gzipEstimate);
  return s;
}

export function sumStats(all: readonly LayerStats[]): LayerStats {
  const s = layerStats([]);
  for (const l of all) for (const k of Object.keys(s) as (keyof LayerStats)[]) s[k] += l[k];
  return s;
}
