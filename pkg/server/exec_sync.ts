import { invalidArgument } from '../errors/errors';
import type { RuntimeHandlers } from './rpc';
import { findContainer, type ContainerDeps } from './container_deps';

export function execSyncHandler(deps: ContainerDeps): RuntimeHandlers['execSync'] {
  return async (req, ctx) => {
    if (!req.containerId) throw invalidArgument('container_id is required');
    if (req.cmd.length === 0) throw invalidArgument('cmd must not be empty');
    if (req.timeout < 0n) throw invalidArgument('timeout must not be negative');
    const c = findContainer(deps, req.containerId);
    const r = await deps.containers.execSync(c.id, req.cmd, Number(req.timeout), ctx.signal);
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  };
}
