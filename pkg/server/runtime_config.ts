import { CgroupDriver } from '../../api/runtime/v1/api';
import type { RuntimeServiceHandlers } from './rpc';

export function runtimeConfigHandler(driver: 'cgroupfs' | 'systemd'): RuntimeServiceHandlers['runtimeConfig'] {
  const cgroupDriver = driver === 'systemd' ? CgroupDriver.SYSTEMD : CgroupDriver.CGROUPFS;
  return async () => ({ linux: { cgroupDriver } });
}
