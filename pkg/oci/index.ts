// pkg/oci: pure functions from a CRI container request to an OCI runtime spec.
//
// The container manager:
//   1. specRequirements(config) says what to read for this request;
//   2. it reads the image's /etc/passwd and /etc/group, realpath()s each host
//      path and finds its propagation (propagationFromMountinfo), stats each
//      device (hostDeviceFromStat), reads a Localhost seccomp profile, and
//      resolves the request's CDI devices (pkg/cdi) into ResolvedFiles.cdi;
//   3. buildContainerSpec(...) validates the whole request (InvalidArgument
//      naming the field) and returns the spec, the user, the stop signal and
//      the directories to create;
//   4. it creates rootfsDirs (safely inside the rootfs) and hostDirs, and
//      writes `spec` as the bundle's config.json.
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
export { deviceNumbers, hostDeviceFromStat, hugepageSizeName, kernelAtLeast, propagationFromMountinfo } from './host_facts';
export type { ImageConfig } from './image_config';
export type { HostPathInfo, ImageVolumePolicy, PodFiles } from './mounts';
export { validateUserNamespace } from './namespaces';
export type { PodNamespacePaths } from './namespaces';
export type { Spec } from './runtime_spec';
export { parseSignal, SIGTERM } from './signal';
export type { Signal } from './signal';
export type { ResolvedUser } from './user';
