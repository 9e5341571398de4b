import { CgroupDriver } from '../../api/runtime/v1/api';
import type { KrillConfig } from '../config/config';
import type { RuntimeHandlers } from './rpc';

export function runtimeConfigHandler(config: KrillConfig): RuntimeHandlers['runtimeConfig'] {
  const cgroupDriver = config.runtime.cgroup_driver === 'systemd' ? CgroupDriver.SYSTEMD : CgroupDriver.CGROUPFS;
  return async () => ({ linux: { cgroupDriver } });
}
