// Command-line parsing for krilld: every config flag maps to a krill.toml key,
// so a flag is simply the last layer of config.
import { parse as parseToml } from 'smol-toml';
import { DEFAULT_CONFIG_FILE } from './load';
import { dirname, join } from 'node:path';

export class UsageError extends Error {
  override name = 'UsageError';
}

interface FlagSpec {
  name: string;
  arg: string;
  help: string;
  /** The krill.toml key the flag sets; absent for flags about loading itself. */
  key?: string;
  type?: 'string' | 'int' | 'list';
}

export const FLAGS: readonly FlagSpec[] = [
  { name: 'config', arg: 'FILE', help: `main config file (default ${DEFAULT_CONFIG_FILE})` },
  { name: 'config-dir', arg: 'DIR', help: 'drop-in directory of *.toml files (default: krill.d beside the config file)' },
  { name: 'socket', arg: 'PATH', help: 'gRPC unix socket', key: 'socket' },
  { name: 'root', arg: 'DIR', help: 'persistent state directory', key: 'root' },
  { name: 'state', arg: 'DIR', help: 'runtime state directory (cleared by a reboot)', key: 'state' },
  { name: 'log-level', arg: 'LEVEL', help: 'trace, debug, info, warn, error or fatal', key: 'log_level' },
  { name: 'cgroup-driver', arg: 'DRIVER', help: 'cgroupfs or systemd', key: 'runtime.cgroup_driver' },
  { name: 'default-runtime', arg: 'NAME', help: 'default runtime handler', key: 'runtime.default_handler' },
  { name: 'conmon', arg: 'PATH', help: 'conmon binary', key: 'runtime.conmon' },
  { name: 'pause-image', arg: 'REF', help: 'sandbox (pause) image', key: 'image.pause_image' },
  { name: 'cni-conf-dir', arg: 'DIR', help: 'CNI config directory', key: 'network.cni_conf_dir' },
  { name: 'cni-bin-dir', arg: 'DIR', help: 'CNI plugin directory (repeatable)', key: 'network.cni_bin_dirs', type: 'list' },
  { name: 'streaming-address', arg: 'ADDR', help: 'streaming server address', key: 'streaming.address' },
  { name: 'streaming-port', arg: 'PORT', help: 'streaming server port (0: any free port)', key: 'streaming.port', type: 'int' },
  { name: 'metrics-address', arg: 'HOST:PORT', help: 'metrics server address', key: 'metrics.address' },
  { name: 'set', arg: 'KEY=VALUE', help: 'set any krill.toml key; VALUE is TOML, or a bare string (repeatable)' },
];

export type Command = 'serve' | 'config' | 'config-default' | 'help' | 'version';

export interface ParsedArgs {
  command: Command;
  configFile: string;
  configExplicit: boolean;
  dropInDir: string;
  overrides: Record<string, unknown>;
}

function setPath(target: Record<string, unknown>, keyPath: string[], value: unknown): void {
  let node = target;
  for (const part of keyPath.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[keyPath[keyPath.length - 1]!] = value;
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(source)) {
    const cur = target[k];
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof cur === 'object' && cur !== null && !Array.isArray(cur)) {
      deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else {
      target[k] = v;
    }
  }
}

/** `--set a.b="x"` is parsed as the TOML line `a.b = "x"`; a bare word becomes a string. */
function parseSet(text: string): Record<string, unknown> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`--set takes KEY=VALUE, got ${JSON.stringify(text)}`);
  const key = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim();
  for (const candidate of [value, JSON.stringify(value)]) {
    try {
      return parseToml(`${key} = ${candidate}`) as Record<string, unknown>;
    } catch {
      // try the next reading
    }
  }
  throw new UsageError(`--set: ${JSON.stringify(key)} is not a valid TOML key`);
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  let command: Command = 'serve';
  let configFile = DEFAULT_CONFIG_FILE;
  let configExplicit = false;
  let dropInDir: string | undefined;
  const overrides: Record<string, unknown> = {};
  const lists = new Map<string, string[]>();

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h' || arg === 'help') { command = 'help'; continue; }
    if (arg === '--version' || arg === '-v' || arg === 'version') { command = 'version'; continue; }
    if (arg === 'config' && command === 'serve') { command = 'config'; continue; }
    if (arg === 'default' && command === 'config') { command = 'config-default'; continue; }
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)} (see krilld --help)`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = FLAGS.find((f) => f.name === name);
    if (!spec) throw new UsageError(`unknown flag --${name} (see krilld --help)`);
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`flag --${name} needs a value (${spec.arg})`);
      value = next;
    }
    if (spec.name === 'config') { configFile = value; configExplicit = true; continue; }
    if (spec.name === 'config-dir') { dropInDir = value; continue; }
    if (spec.name === 'set') { deepMerge(overrides, parseSet(value)); continue; }
    const keyPath = spec.key!.split('.');
    if (spec.type === 'list') {
      const items = lists.get(spec.key!) ?? [];
      items.push(value);
      lists.set(spec.key!, items);
      setPath(overrides, keyPath, items);
    } else if (spec.type === 'int') {
      const n = Number(value);
      if (!/^-?\d+$/.test(value)) throw new UsageError(`flag --${name} takes an integer, got ${JSON.stringify(value)}`);
      setPath(overrides, keyPath, n);
    } else {
      setPath(overrides, keyPath, value);
    }
  }
  return {
    command,
    configFile,
    configExplicit,
    dropInDir: dropInDir ?? join(dirname(configFile), 'krill.d'),
    overrides,
  };
}

export function usage(): string {
  const lines = [
    'Usage: krilld [config] [flags]',
    '',
    'krilld serves the Kubernetes CRI v1 API (RuntimeService, ImageService) on a unix socket,',
    'with its own krill.admin.v1.Admin (Reload, GetConfig, Restart). SIGHUP reloads the configuration.',
    '',
    'Commands:',
    '  (none)      start the daemon',
    '  config      print the effective configuration as TOML and exit',
    '  config default  print the default krill.toml (every key, commented out) and exit',
    '  --version   print the version and exit',
    '  --help      print this help and exit',
    '',
    'Flags (each overrides the config files):',
  ];
  for (const f of FLAGS) lines.push(`  --${`${f.name} ${f.arg}`.padEnd(26)} ${f.help}`);
  return lines.join('\n') + '\n';
}
