// A CreateContainer request checked field by field before anything is
// changed: what the manager needs from it, or InvalidArgument naming the
// field. Pure: the pod and image are looked up by the manager.
import { isAbsolute, relative, resolve as resolvePath } from 'node:path';
import type { ContainerConfig, CreateContainerRequest, PodSandboxConfig } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';

export interface CreateSpec {
  podId: string;
  config: ContainerConfig;
  /** The image as the request names it. */
  image: string;
}

export function validateCreateRequest(req: CreateContainerRequest): CreateSpec {
  const config = req.config;
  if (!req.podSandboxId) throw invalidArgument('pod_sandbox_id is required');
  if (!config) throw invalidArgument('config is required');
  if (!config.metadata?.name) throw invalidArgument('config.metadata.name is required');
  if (!config.image?.image) throw invalidArgument('config.image.image is required');
  if (config.logPath && isAbsolute(config.logPath)) throw invalidArgument(`config.log_path ${JSON.stringify(config.logPath)} must be relative to the pod's log_directory`);
  return { podId: req.podSandboxId, config, image: config.image.image };
}

/** kubelet's container name: <name>_<pod name>_<pod namespace>_<pod uid>_<attempt>. */
export function containerKey(config: ContainerConfig, pod: PodSandboxConfig): string {
  const m = pod.metadata;
  return [config.metadata!.name, m?.name ?? '', m?.namespace ?? '', m?.uid ?? '', String(config.metadata!.attempt)].join('_');
}

/** The absolute log path: config.log_path below the pod's log_directory, never outside it; '' for none. */
export function logPathIn(config: ContainerConfig, pod: PodSandboxConfig): string {
  const dir = pod.logDirectory;
  if (!config.logPath) return '';
  if (!dir) throw invalidArgument('config.log_path is set but the pod has no log_directory');
  const full = resolvePath(dir, config.logPath);
  const rel = relative(resolvePath(dir), full);
  if (rel.startsWith('..') || isAbsolute(rel)) throw invalidArgument(`config.log_path ${JSON.stringify(config.logPath)} leaves the pod's log_directory`);
  return full;
}
