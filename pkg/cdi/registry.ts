// The devices of every spec file found, by fully qualified name. As the CDI
// reference implementation resolves them: a spec directory later in the list
// overrides an earlier one; two files of the same directory defining one
// device make that device unusable (neither is taken) unless a later
// directory defines it again, and say so.
import { qualifiedName } from './names';
import type { CdiDevice, CdiSpec } from './spec';

export interface LoadedSpec {
  /** The file it was read from. */
  path: string;
  /** The index of its directory in the configured list: higher wins. */
  priority: number;
  spec: CdiSpec;
}

export interface RegisteredDevice {
  device: CdiDevice;
  from: LoadedSpec;
}

export interface DeviceConflict {
  device: string;
  paths: [string, string];
}

export interface CdiRegistry {
  devices: ReadonlyMap<string, RegisteredDevice>;
  conflicts: readonly DeviceConflict[];
}

/** `specs` in scan order (directory by directory, files by name). */
export function buildRegistry(specs: readonly LoadedSpec[]): CdiRegistry {
  const devices = new Map<string, RegisteredDevice>();
  const clashes = new Map<string, DeviceConflict>();
  for (const from of specs) {
    for (const device of from.spec.devices) {
      const name = qualifiedName(from.spec.kind, device.name);
      const other = devices.get(name);
      if (other && other.from.priority > from.priority) continue;
      if (other && other.from.priority === from.priority) {
        if (!clashes.has(name)) clashes.set(name, { device: name, paths: [other.from.path, from.path] });
        continue;
      }
      clashes.delete(name);
      devices.set(name, { device, from });
    }
  }
  for (const name of clashes.keys()) devices.delete(name);
  return { devices, conflicts: [...clashes.values()] };
}
