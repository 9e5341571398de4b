// What a reload of the configuration files changes: the keys that differ
// between the configuration krilld runs with and the one the files (and the
// start's flags) give now, which of them krilld applies live and which wait
// for its next start, the configuration it runs with afterwards, and its hash.
// Pure: loading is load.ts's, applying is the daemon's (cmd/krilld/reload.ts).
import { createHash } from 'node:crypto';
import { configSchema, type KrillConfig } from './config';
import { configToPlain } from './load';
import type { MapNode, Node, Shape, TableNode } from './schema';

export interface ConfigChange {
  /** Where in the config: ['image', 'registries', 'docker.io', 'mirrors']. */
  path: string[];
  /** The dotted key as the loader's messages write it: image.registries."docker.io".mirrors. */
  key: string;
  /** 'added' and 'removed' are for whole named entries (a registry, a handler). */
  kind: 'changed' | 'added' | 'removed';
}

function keyOf(parentKey: string, name: string, named: boolean): string {
  const part = named && !/^[A-Za-z0-9_-]+$/.test(name) ? JSON.stringify(name) : name;
  return parentKey ? `${parentKey}.${part}` : part;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function walk(node: Node<unknown>, a: unknown, b: unknown, path: string[], key: string, out: ConfigChange[]): void {
  if (node.kind === 'table') {
    const shape = (node as TableNode<Shape>).shape;
    for (const k of Object.keys(shape)) {
      walk(shape[k]!, (a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], [...path, k], keyOf(key, k, false), out);
    }
    return;
  }
  if (node.kind === 'map') {
    const child = (node as MapNode<unknown>).value;
    const am = a as Record<string, unknown>;
    const bm = b as Record<string, unknown>;
    for (const name of [...new Set([...Object.keys(am), ...Object.keys(bm)])].sort()) {
      const p = [...path, name];
      const k = keyOf(key, name, true);
      if (!(name in bm)) out.push({ path: p, key: k, kind: 'removed' });
      else if (!(name in am)) out.push({ path: p, key: k, kind: 'added' });
      else walk(child, am[name], bm[name], p, k, out);
    }
    return;
  }
  if (!same(a, b)) out.push({ path, key, kind: 'changed' });
}

/** The keys that differ from `a` to `b`, leaves and whole named entries, in schema order. */
export function diffConfigs(a: KrillConfig, b: KrillConfig): ConfigChange[] {
  const out: ConfigChange[] = [];
  walk(configSchema, a, b, [], '', out);
  return out;
}

/**
 * Keys (and every key below them) that krilld applies without a restart: what
 * its managers read per operation (a pull, a new streaming session, a log line,
 * a listing) rather than what they were built from.
 */
const LIVE_KEYS: readonly (readonly string[])[] = [
  ['log_level'],
  ['image', 'pause_image'],
  ['image', 'pinned_images'],
  ['image', 'auth_file'],
  ['image', 'pull_progress_timeout'],
  ['image', 'progress_log_interval'],
  ['image', 'registries'],
  ['streaming', 'token_ttl'],
  ['streaming', 'idle_timeout'],
  ['streaming', 'stream_creation_timeout'],
  ['streaming', 'max_sessions_per_container'],
];

/** Whether `change` can be applied to a running krilld. */
export function isLive(change: ConfigChange): boolean {
  // A new handler is only added; one that changes or goes may be what running containers were created with.
  if (change.path[0] === 'runtime' && change.path[1] === 'handlers') return change.kind === 'added' && change.path.length === 3;
  return LIVE_KEYS.some((live) => live.every((part, i) => change.path[i] === part));
}

function getAt(obj: unknown, path: readonly string[]): unknown {
  let v = obj;
  for (const p of path) v = (v as Record<string, unknown> | undefined)?.[p];
  return v;
}

function setAt(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = obj;
  for (const p of path.slice(0, -1)) node = node[p] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = structuredClone(value);
}

export interface ReloadPlan {
  /** The configuration krilld runs with once the live changes are applied. */
  next: KrillConfig;
  /** The live changes, in schema order. */
  live: ConfigChange[];
  /** Keys of `live`. */
  applied: string[];
  /** Keys that differ in the files but wait for the next start (also those a previous reload left). */
  needsRestart: string[];
}

/**
 * Plans a reload: `running` is what krilld runs with, `loaded` what the files
 * and the start's flags give now. Restart-only keys keep their running value
 * in `next`, so a later reload lists them again until krilld restarts.
 */
export function planReload(running: KrillConfig, loaded: KrillConfig): ReloadPlan {
  const changes = diffConfigs(running, loaded);
  const live = changes.filter(isLive);
  const next = structuredClone(running);
  for (const c of live) setAt(next as unknown as Record<string, unknown>, c.path, getAt(loaded, c.path));
  return { next, live, applied: live.map((c) => c.key), needsRestart: changes.filter((c) => !isLive(c)).map((c) => c.key) };
}

/** Objects with their keys sorted, recursively: the same configuration always serializes the same. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = canonical((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** sha256 (hex) of the canonical JSON of `config` (durations as written, "30s"). */
export function configHash(config: KrillConfig): string {
  return createHash('sha256').update(JSON.stringify(canonical(configToPlain(config)))).digest('hex');
}
