// krill.admin.v1.Admin: Reload and GetConfig of krilld's configuration
// (pkg/config/reloader.ts does the work; SIGHUP runs the same Reload).
import type { ConfigReloader } from '../config/reloader';
import { ReloadError } from '../config/reloader';
import { KrillError } from '../errors/errors';
import type { AdminHandlers } from './rpc';

export function adminHandlers(reloader: ConfigReloader): AdminHandlers {
  return {
    async reload() {
      try {
        const r = await reloader.reload();
        return { hash: r.hash, applied: r.applied, needsRestart: r.needsRestart };
      } catch (err) {
        if (err instanceof ReloadError) throw new KrillError(err.invalid ? 'InvalidArgument' : 'Internal', err.message, { cause: err });
        throw err;
      }
    },
    async getConfig() {
      const s = reloader.state();
      return { hash: s.hash, pendingRestart: s.pendingRestart, files: s.files, lastReloadError: s.lastReloadError };
    },
  };
}
