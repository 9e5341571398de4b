// UpdateRuntimeConfig: kubelet hands over the node's pod CIDR(s); CNI plugins
// that declare the ipRanges capability allocate from it. Remembered across
// restarts (kubelet sends it only when it changes).
import { invalidArgument } from '../errors/errors';
import { parsePodCidrs } from '../network/settings';
import type { RuntimeServiceHandlers } from './rpc';
import type { PodDeps } from './pod_deps';

export function updateRuntimeConfigHandler(deps: Pick<PodDeps, 'network' | 'settings'>): RuntimeServiceHandlers['updateRuntimeConfig'] {
  return async (req, ctx) => {
    const text = req.runtimeConfig?.networkConfig?.podCidr ?? '';
    if (text === '') return {};
    let cidrs: string[];
    try {
      cidrs = parsePodCidrs(text);
    } catch (err) {
      throw invalidArgument(`runtime_config.network_config.pod_cidr: ${(err as Error).message}`);
    }
    deps.settings.setPodCidrs(cidrs);
    deps.network.setPodCidrs(cidrs);
    ctx.log.info({ pod_cidrs: cidrs }, 'pod CIDR updated');
    return {};
  };
}
