// Status: the runtime's conditions (RuntimeReady, NetworkReady), the handlers
// it offers with their features, and with verbose the effective config.
import type { RuntimeCondition, RuntimeHandler, RuntimeFeatures } from '../../api/runtime/v1/api';
import type { RuntimeHandlers } from './rpc';

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

export function statusHandler(sources: StatusSources): RuntimeHandlers['status'] {
  return async (req) => ({
    status: { conditions: await Promise.all(sources.conditions.map((c) => c())) },
    info: req.verbose ? sources.info() : {},
    runtimeHandlers: sources.handlers(),
    features: sources.features(),
  });
}
