import { invalidArgument, KrillError } from '../errors/errors';
import type { RuntimeServiceHandlers } from './rpc';
import type { ContainerDeps } from './container_deps';

export function execSyncHandler(deps: ContainerDeps): RuntimeServiceHandlers['execSync'] {
  return async (req, ctx) => {
    if (!req.containerId) throw invalidArgument('container_id is required');
    if (req.cmd.length === 0) throw invalidArgument('cmd must not be empty');
    if (req.timeout < 0n) throw invalidArgument('timeout must not be negative');
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const r = await deps.containers.execSync(req.containerId, req.cmd, Number(req.timeout), ctx.signal);
      deps.observeExecSync?.(r.exitCode === 0 ? 'exit_zero' : 'exit_nonzero', seconds());
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
    } catch (err) {
      deps.observeExecSync?.(err instanceof KrillError && err.code === 'DeadlineExceeded' ? 'timeout' : 'error', seconds());
      throw err;
    }
  };
}
