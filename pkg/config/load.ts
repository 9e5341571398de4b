// Builds the effective config: embedded defaults, then krill.toml, then the
// drop-ins of krill.d in lexical order, then command-line overrides.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { configSchema, defaultConfig, type KrillConfig } from './config';
import { ConfigError, formatDuration, type Node, type TableNode, type Shape } from './schema';

export const DEFAULT_CONFIG_FILE = '/etc/krill/krill.toml';
export const DEFAULT_DROPIN_DIR = '/etc/krill/krill.d';

export interface LoadOptions {
  /** The main file; a missing file is fine unless `configExplicit`. */
  configFile: string;
  configExplicit: boolean;
  dropInDir: string;
  /** Values from flags, as TOML-shaped nested tables, applied last. */
  overrides: Record<string, unknown>;
}

export interface LoadedConfig {
  config: KrillConfig;
  /** The files read, in the order they were applied. */
  sources: string[];
}

function readToml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', 'a readable TOML file', (err as NodeJS.ErrnoException).code ?? String(err));
  }
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const e = err as { line?: number; column?: number; message?: string };
    const at = e.line ? ` at line ${e.line}, column ${e.column ?? 0}` : '';
    const detail = (e.message ?? String(err)).split('\n')[0];
    throw new ConfigError(file, '', 'valid TOML', `${detail}${at}`);
  }
}

function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function dropIns(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => n.endsWith('.toml'))
    .sort()
    .map((n) => join(dir, n))
    .filter(isFile);
}

/** Reads, validates and merges every source; throws ConfigError naming file and key. */
export function loadConfig(opts: LoadOptions): LoadedConfig {
  let config = defaultConfig();
  const sources: string[] = [];
  if (opts.configExplicit || exists(opts.configFile)) {
    config = configSchema.parse(readToml(opts.configFile), config, opts.configFile, '');
    sources.push(opts.configFile);
  }
  for (const file of dropIns(opts.dropInDir)) {
    config = configSchema.parse(readToml(file), config, file, '');
    sources.push(file);
  }
  config = configSchema.parse(opts.overrides, config, 'command line', '');
  checkConsistency(config, sources);
  return { config, sources };
}

/** Rules that span keys; they are checked once everything is merged. */
function checkConsistency(config: KrillConfig, sources: string[]): void {
  const where = sources.length ? sources.join(', ') : 'embedded defaults';
  const handlers = Object.keys(config.runtime.handlers);
  if (!handlers.includes(config.runtime.default_handler)) {
    throw new ConfigError(where, 'runtime.default_handler', `one of the configured handlers (${handlers.join(', ')})`, JSON.stringify(config.runtime.default_handler));
  }
  const { tls_cert_file: cert, tls_key_file: key } = config.streaming;
  if ((cert === '') !== (key === '')) {
    throw new ConfigError(where, cert ? 'streaming.tls_key_file' : 'streaming.tls_cert_file', 'both tls_cert_file and tls_key_file, or neither');
  }
}

/** The effective config as TOML, durations written back as strings. */
export function formatConfig(config: KrillConfig): string {
  return stringifyToml(toPlain(configSchema, config) as Record<string, unknown>);
}

/** The effective config as plain JSON-friendly data (durations as strings). */
export function configToPlain(config: KrillConfig): Record<string, unknown> {
  return toPlain(configSchema, config) as Record<string, unknown>;
}

function toPlain(node: Node<unknown>, value: unknown): unknown {
  if (node.kind === 'duration') return formatDuration(value as number);
  if (node.kind === 'table') {
    const shape = (node as TableNode<Shape>).shape;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(shape)) out[k] = toPlain(shape[k]!, (value as Record<string, unknown>)[k]);
    return out;
  }
  if (node.kind === 'map') {
    const child = (node as unknown as { value: Node<unknown> }).value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = toPlain(child, v);
    return out;
  }
  return value;
}
