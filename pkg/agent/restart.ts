// Changes that need a krilld restart. krilld's admin API (krill.admin.v1) has
// no Restart call, so the agent does not restart krilld: it reports the keys
// (annotation krill.dev/config-pending-restart, set with the config hash) and
// posts this Event; the operator restarts krilld (containers survive it).
import type { EventSpec } from './types';

export function restartRequiredEvent(keys: readonly string[]): EventSpec {
  return {
    type: 'Warning',
    reason: 'RestartRequired',
    message: `krilld applies ${[...keys].sort().join(', ')} only at its next start; restart krilld on this node (running containers keep running)`,
  };
}
