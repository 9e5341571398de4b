// RunPodSandbox: validate the whole request, then create the pod.
import type { RuntimeServiceHandlers } from './rpc';
import type { PodDeps } from './pod_deps';

export function runPodSandboxHandler(deps: PodDeps): RuntimeServiceHandlers['runPodSandbox'] {
  return async (req, ctx) => {
    const spec = await deps.sandboxes.validate(req);
    const { id, joined } = await deps.sandboxes.run(spec, ctx.log);
    if (joined) ctx.log.info({ pod_id: id }, 'joined a RunPodSandbox still in flight for the same pod');
    return { podSandboxId: id };
  };
}
