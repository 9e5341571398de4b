// krill.admin.v1.Admin: Reload and GetConfig of krilld's configuration
// (pkg/config/reloader.ts does the work; SIGHUP runs the same Reload), and
// Restart (the daemon re-executes itself: cmd/krilld/daemon.ts).
import type { ConfigReloader } from '../config/reloader';
import { ReloadError } from '../config/reloader';
import { KrillError } from '../errors/errors';
import type { AdminHandlers } from './rpc';

function toKrillError(err: unknown): unknown {
  return err instanceof ReloadError ? new KrillError(err.invalid ? 'InvalidArgument' : 'Internal', err.message, { cause: err }) : err;
}

/**
 * `restart` begins the restart once the answer is on its way; without it,
 * Restart answers UNIMPLEMENTED.
 */
export function adminHandlers(reloader: ConfigReloader, restart?: () => void): AdminHandlers {
  return {
    async reload() {
      try {
        const r = await reloader.reload();
        return { hash: r.hash, applied: r.applied, needsRestart: r.needsRestart };
      } catch (err) {
        throw toKrillError(err);
      }
    },
    ...(restart
      ? {
          async restart() {
            let pendingRestart: string[];
            try {
              // A configuration that would not start is refused here, while krilld still runs.
              pendingRestart = await reloader.restartPreview();
            } catch (err) {
              throw toKrillError(err);
            }
            // After this call's answer is handed to grpc-js; the shutdown lets it finish.
            setImmediate(restart);
            return { pendingRestart };
          },
        }
      : {}),
    async getConfig() {
      const s = reloader.state();
      return { hash: s.hash, pendingRestart: s.pendingRestart, files: s.files, lastReloadError: s.lastReloadError };
    },
  };
}
