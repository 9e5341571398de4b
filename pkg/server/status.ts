// Status: the runtime's conditions (RuntimeReady, NetworkReady), the handlers
// it offers with their features, and with verbose the effective config.
import type { RuntimeCondition, RuntimeHandler, RuntimeFeatures } from '../../api/runtime/v1/api';
import type { RuntimeHandlers } from './rpc';

export interface StatusSources {
  /** Every condition, in a stable order; each is computed fresh per call. */
  conditions(): Promise<RuntimeCondition[]>;
  handlers(): RuntimeHandler[];
  features(): RuntimeFeatures;
  /** Verbose info: key → JSON text, as crictl info expects. */
  info(): Record<string, string>;
}

export function statusHandler(sources: StatusSources): RuntimeHandlers['status'] {
  return async (req) => ({
    status: { conditions: await sources.conditions() },
    info: req.verbose ? sources.info() : {},
    runtimeHandlers: sources.handlers(),
    features: sources.features(),
  });
}
