// RemovePodSandbox: the pod's containers first, then the pod with everything
// it holds. Idempotent: an unknown or already removed pod is fine.
import { invalidArgument } from '../errors/errors';
import type { RuntimeServiceHandlers } from './rpc';
import type { PodDeps } from './pod_deps';

export function removePodSandboxHandler(deps: PodDeps): RuntimeServiceHandlers['removePodSandbox'] {
  return async (req, ctx) => {
    if (!req.podSandboxId) throw invalidArgument('pod_sandbox_id is required');
    const s = deps.sandboxes.resolve(req.podSandboxId);
    if (!s) return {};
    await deps.containers.removeAllInPod(s.id, ctx.log);
    await deps.sandboxes.remove(s.id, ctx.log);
    return {};
  };
}
