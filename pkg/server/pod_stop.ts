// StopPodSandbox: the pod's containers first, then the pod. Idempotent: an
// unknown or already stopped pod is fine.
import { invalidArgument } from '../errors/errors';
import type { RuntimeServiceHandlers } from './rpc';
import type { PodDeps } from './pod_deps';

export function stopPodSandboxHandler(deps: PodDeps): RuntimeServiceHandlers['stopPodSandbox'] {
  return async (req, ctx) => {
    if (!req.podSandboxId) throw invalidArgument('pod_sandbox_id is required');
    const s = deps.sandboxes.resolve(req.podSandboxId);
    if (!s) return {};
    await deps.containers.stopAllInPod(s.id, ctx.log);
    await deps.sandboxes.stop(s.id, ctx.log);
    return {};
  };
}
