// pkg/oci: pure functions from a CRI container request to an OCI runtime spec.
export { buildContainerSpec, specRequirements } from './spec';
export type {
  ContainerSpecInput,
  ContainerSpecResult,
  HostFacts,
  PodContext,
  ResolvedFiles,
  SpecOptions,
  SpecRequirements,
} from './spec';
export { capabilitiesFromMask, DEFAULT_CAPABILITIES, KNOWN_CAPABILITIES } from './capabilities';
export type { HostDevice } from './devices';
export type { ImageConfig } from './image_config';
export type { HostPathInfo, ImageVolumePolicy, PodFiles } from './mounts';
export { validateUserNamespace } from './namespaces';
export type { PodNamespacePaths } from './namespaces';
export { cgroupsPath } from './resources';
export type { CgroupDriver } from './resources';
export type { Spec } from './runtime_spec';
export { parseSignal, SIGTERM } from './signal';
export type { Signal } from './signal';
export type { ResolvedUser } from './user';
