import type { RuntimeServiceHandlers } from './rpc';

export const RUNTIME_NAME = 'krill';
/** The kubelet runtime API version this server speaks. */
export const RUNTIME_API_VERSION = 'v1';

export function versionHandler(runtimeVersion: string): RuntimeServiceHandlers['version'] {
  return async () => ({
    version: '0.1.0',
    runtimeName: RUNTIME_NAME,
    runtimeVersion,
    runtimeApiVersion: RUNTIME_API_VERSION,
  });
}
