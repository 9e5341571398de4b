// Changes that need a krilld restart, when krilld cannot restart itself (its
// admin API answers Restart with UNIMPLEMENTED): the agent reports the keys
// (annotation krill.dev/config-pending-restart, set with the config hash) and
// posts this Event; the operator restarts krilld (containers survive it).
// Otherwise ./restart_controller restarts it under a Lease.
import type { EventSpec } from './types';

export function restartRequiredEvent(keys: readonly string[]): EventSpec {
  return {
    type: 'Warning',
    reason: 'RestartRequired',
    message: `krilld applies ${[...keys].sort().join(', ')} only at its next start; restart krilld on this node (running containers keep running)`,
  };
}
