// CNI network configuration files, per the CNI spec: *.conflist (a named
// list of plugins) and *.conf / *.json (a single plugin, which becomes a list
// of one). The first valid file in lexical order is the network.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface CniPluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface CniConfList {
  name: string;
  cniVersion: string;
  disableCheck: boolean;
  plugins: CniPluginConf[];
  /** The file it came from, or a description of where else. */
  source: string;
}

export class CniConfigError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`${source}: ${message}`);
    this.name = 'CniConfigError';
  }
}

export const CONF_EXTENSIONS = ['.conf', '.conflist', '.json'] as const;

// The spec's network name rule.
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const VERSION_RE = /^\d+\.\d+\.\d+$/;
const TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkPlugin(raw: unknown, source: string, where: string): CniPluginConf {
  if (!isObject(raw)) throw new CniConfigError(source, `${where} is not an object`);
  // The type names a binary in the plugin directories; never a path.
  if (typeof raw.type !== 'string' || !TYPE_RE.test(raw.type)) throw new CniConfigError(source, `${where}.type must be a plugin name`);
  if (raw.capabilities !== undefined && !isObject(raw.capabilities)) throw new CniConfigError(source, `${where}.capabilities must be an object`);
  return raw as CniPluginConf;
}

function checkHeader(raw: Record<string, unknown>, source: string): { name: string; cniVersion: string } {
  if (typeof raw.name !== 'string' || !NAME_RE.test(raw.name)) throw new CniConfigError(source, 'name is missing or not a valid network name');
  if (typeof raw.cniVersion !== 'string' || !VERSION_RE.test(raw.cniVersion)) throw new CniConfigError(source, 'cniVersion is missing or not a version');
  return { name: raw.name, cniVersion: raw.cniVersion };
}

/** Parses one config file's text; a single-plugin config becomes a list of one. */
export function parseConfText(text: string, source: string): CniConfList {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniConfigError(source, `not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(raw)) throw new CniConfigError(source, 'not a JSON object');
  const header = checkHeader(raw, source);
  if (raw.plugins !== undefined) {
    if (!Array.isArray(raw.plugins) || raw.plugins.length === 0) throw new CniConfigError(source, 'plugins must be a non-empty array');
    const plugins = raw.plugins.map((p, i) => checkPlugin(p, source, `plugins[${i}]`));
    return { ...header, disableCheck: raw.disableCheck === true, plugins, source };
  }
  return { ...header, disableCheck: false, plugins: [checkPlugin(raw, source, 'the config')], source };
}

export interface ConfDirScan {
  /** The first valid config, if any. */
  config?: CniConfList;
  /** Config files (sorted) that were looked at. */
  files: string[];
  /** Why files before the chosen one (or all of them) were skipped. */
  errors: string[];
}

/** The config files of `dir` in lexical order; a missing directory has none. */
export async function listConfFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names.filter((n) => CONF_EXTENSIONS.some((e) => n.endsWith(e)) && !n.startsWith('.')).sort();
}

export async function scanConfDir(dir: string): Promise<ConfDirScan> {
  const files = await listConfFiles(dir);
  const errors: string[] = [];
  for (const name of files) {
    const file = join(dir, name);
    try {
      return { config: parseConfText(await readFile(file, 'utf8'), file), files, errors };
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  return { files, errors };
}

/** A cheap fingerprint of the directory (names, sizes, mtimes): a change means re-read. */
export async function confDirFingerprint(dir: string): Promise<string> {
  const parts: string[] = [];
  try {
    const st = await stat(dir);
    parts.push(`dir:${st.mtimeMs}`);
  } catch {
    return 'missing';
  }
  for (const name of await listConfFiles(dir)) {
    try {
      const st = await stat(join(dir, name));
      parts.push(`${name}:${st.size}:${st.mtimeMs}:${st.ino}`);
    } catch {
      parts.push(`${name}:gone`);
    }
  }
  return parts.join('|');
}
