// Status: the runtime's conditions (RuntimeReady, NetworkReady), the handlers
// it offers with their features, and with verbose the effective config.
import { access, constants } from 'node:fs/promises';
import type { RuntimeCondition, RuntimeHandler, RuntimeFeatures } from '../../api/runtime/v1/api';
import type { HandlerFeatures } from '../runtime/types';
import type { RuntimeServiceHandlers } from './rpc';

/** Computes one condition fresh for each Status call. */
export type ConditionSource = () => Promise<RuntimeCondition>;

export interface StatusSources {
  /** In the order they are reported; RuntimeReady first, NetworkReady second. */
  conditions: ConditionSource[];
  handlers(): RuntimeHandler[];
  features(): RuntimeFeatures;
  /** Verbose info: key → JSON text, as crictl info expects. */
  info(): Record<string, string>;
}

export function statusHandler(sources: StatusSources): RuntimeServiceHandlers['status'] {
  return async (req) => ({
    status: { conditions: await Promise.all(sources.conditions.map((c) => c())) },
    info: req.verbose ? sources.info() : {},
    runtimeHandlers: sources.handlers(),
    features: sources.features(),
  });
}

/** RuntimeReady: the monitor and the default handler's binary are there and executable. */
export function runtimeReady(binaries: readonly string[]): ConditionSource {
  return async (): Promise<RuntimeCondition> => {
    const missing: string[] = [];
    for (const bin of binaries) if (!(await executable(bin))) missing.push(bin);
    return missing.length === 0
      ? { type: 'RuntimeReady', status: true, reason: '', message: '' }
      : { type: 'RuntimeReady', status: false, reason: 'RuntimeBinaryMissing', message: `not executable: ${missing.join(', ')}` };
  };
}

async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The handlers Status lists: '' (the default) and each configured one, with what its binary supports. */
export function runtimeHandlerList(names: readonly string[], defaultHandler: string, features: (name: string) => HandlerFeatures): RuntimeHandler[] {
  const of = (name: string) => {
    const f = features(name);
    return { recursiveReadOnlyMounts: f.recursiveReadOnlyMounts, userNamespaces: f.userNamespaces };
  };
  return [{ name: '', features: of(defaultHandler) }, ...names.map((name) => ({ name, features: of(name) }))];
}
