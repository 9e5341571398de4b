// The container's command line, environment and working directory, by the
// rules Kubernetes documents for command/args against ENTRYPOINT/CMD.
import type { KeyValue } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import type { ImageConfig } from './image_config';
import { cleanPath } from './path';

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * command set: it replaces the image's Entrypoint and the image's Cmd is ignored
 * (args, if any, follow it); only args: image Entrypoint + args; neither:
 * image Entrypoint + Cmd. An Entrypoint of [""] is Docker's "no entrypoint".
 */
export function processArgs(command: readonly string[], args: readonly string[], image: ImageConfig): string[] {
  let head = [...command];
  let tail = [...args];
  if (head.length === 0) {
    if (tail.length === 0) tail = [...(image.Cmd ?? [])];
    const entrypoint = image.Entrypoint ?? [];
    if (!(entrypoint.length === 1 && entrypoint[0] === '')) head = [...entrypoint];
  }
  const argv = [...head, ...tail];
  if (argv.length === 0) {
    throw invalidArgument('config.command: no command given and the image has neither Entrypoint nor Cmd');
  }
  return argv;
}

export interface EnvInput {
  image: ImageConfig;
  envs: readonly KeyValue[];
  /** The pod's hostname for HOSTNAME; omitted when empty. */
  hostname: string;
  tty: boolean;
}

/**
 * Later sources override earlier ones in place: the default PATH, HOSTNAME,
 * TERM (tty only), then the image's Env, then the request's envs.
 */
export function processEnv(input: EnvInput): string[] {
  const order: string[] = [];
  const values = new Map<string, string>();
  const set = (entry: string): void => {
    const eq = entry.indexOf('=');
    if (eq <= 0) return;
    const key = entry.slice(0, eq);
    if (!values.has(key)) order.push(key);
    values.set(key, entry);
  };
  set(DEFAULT_PATH_ENV);
  if (input.hostname !== '') set(`HOSTNAME=${input.hostname}`);
  if (input.tty) set('TERM=xterm');
  for (const entry of input.image.Env ?? []) set(entry);
  input.envs.forEach((kv, i) => {
    if (kv.key === '') throw invalidArgument(`config.envs[${i}].key is empty`);
    if (kv.key.includes('=')) throw invalidArgument(`config.envs[${i}].key ${JSON.stringify(kv.key)} contains "="`);
    const value = envValue(kv.value, i);
    if (kv.key.includes('\0') || value.includes('\0')) throw invalidArgument(`config.envs[${i}] contains a NUL byte`);
    set(`${kv.key}=${value}`);
  });
  return order.map((k) => values.get(k)!);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** An env value as the CRI sends it since 1.37 (bytes); the OCI spec holds it as a string, so it must be UTF-8. */
function envValue(value: Uint8Array, i: number): string {
  try {
    return utf8.decode(value);
  } catch {
    throw invalidArgument(`config.envs[${i}].value is not valid UTF-8`);
  }
}

/** The request's working_dir, else the image's WorkingDir, else "/". */
export function processCwd(workingDir: string, image: ImageConfig): string {
  if (workingDir !== '') {
    if (!workingDir.startsWith('/')) {
      throw invalidArgument(`config.working_dir ${JSON.stringify(workingDir)} is not an absolute path`);
    }
    return cleanPath(workingDir);
  }
  const fromImage = image.WorkingDir ?? '';
  if (fromImage === '') return '/';
  // Docker resolves a relative WORKDIR at build time; a stray one is taken from /.
  return cleanPath(`/${fromImage}`);
}
