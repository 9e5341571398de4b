// The CDI devices a CreateContainer request asks for: ContainerConfig.CDI_devices,
// then the devices named by `cdi.k8s.io/*` annotations (the form device plugins
// used before the field existed; each value a comma-separated list), each
// device once, in that order.
import type { ContainerConfig } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';
import { parseQualifiedName } from './names';

export const CDI_ANNOTATION_PREFIX = 'cdi.k8s.io/';

export interface RequestedDevice {
  /** "vendor/class=name". */
  name: string;
  /** The request field that named it first, for messages. */
  field: string;
}

/** Throws InvalidArgument naming the field of a name that is not fully qualified. */
export function requestedDevices(config: Pick<ContainerConfig, 'CDIDevices' | 'annotations'>): RequestedDevice[] {
  const out: RequestedDevice[] = [];
  const seen = new Set<string>();
  const add = (name: string, field: string): void => {
    const parsed = parseQualifiedName(name);
    if ('error' in parsed) throw invalidArgument(`${field}: ${parsed.error}`);
    if (seen.has(name)) return;
    seen.add(name);
    out.push({ name, field });
  };
  config.CDIDevices.forEach((d, i) => add(d.name, `config.CDI_devices[${i}].name`));
  // Sorted: the order of a protobuf map is not the sender's.
  for (const key of Object.keys(config.annotations).sort()) {
    if (!key.startsWith(CDI_ANNOTATION_PREFIX)) continue;
    for (const name of config.annotations[key]!.split(',')) add(name, `config.annotations[${JSON.stringify(key)}]`);
  }
  return out;
}
