import { CgroupDriver } from '../../api/runtime/v1/api';
import type { RuntimeHandlers } from './rpc';

export function runtimeConfigHandler(driver: 'cgroupfs' | 'systemd'): RuntimeHandlers['runtimeConfig'] {
  const cgroupDriver = driver === 'systemd' ? CgroupDriver.SYSTEMD : CgroupDriver.CGROUPFS;
  return async () => ({ linux: { cgroupDriver } });
}
