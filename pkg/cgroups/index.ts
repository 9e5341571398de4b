// The cgroups driver's public surface.
export { Cgroups } from './cgroups';
export { detectCgroupLayout, parseCgroupLayout, type CgroupLayout } from './layout';
export { CgroupPathError, containerCgroup, expandSlice, normalizeCgroupfsPath, podCgroupPath, type CgroupDriverName, type ContainerCgroup } from './paths';
export { readV1Stats, readV2Stats, type CgroupStats, type CpuStats, type MemoryStats, type PidsStats } from './stats';
