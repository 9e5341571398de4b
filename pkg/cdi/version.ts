// CDI spec versions: the released ones, and the least version a spec must
// declare for the fields it uses (a spec declaring less is invalid).
import { CdiSpecError } from './decode';
import type { CdiContainerEdits, CdiSpec } from './spec';

/** Newest first. 0.1.0 and 0.2.0 are known but below the earliest a spec can satisfy (0.3.0). */
export const CDI_VERSIONS = ['1.1.0', '1.0.0', '0.8.0', '0.7.0', '0.6.0', '0.5.0', '0.4.0', '0.3.0', '0.2.0', '0.1.0'] as const;
export type CdiVersion = (typeof CDI_VERSIONS)[number];
const EARLIEST: CdiVersion = '0.3.0';

const allEdits = (spec: CdiSpec): CdiContainerEdits[] => [spec.containerEdits, ...spec.devices.map((d) => d.containerEdits)];

/** The features each version added, newest first (1.0.0 and 0.8.0 changed no fields). */
const REQUIRES: ReadonlyArray<[CdiVersion, (spec: CdiSpec) => boolean]> = [
  ['1.1.0', (s) => allEdits(s).some((e) => e.netDevices.length > 0 || (e.intelRdt !== undefined && (e.intelRdt.schemata !== undefined || e.intelRdt.enableMonitoring)))],
  ['0.7.0', (s) => allEdits(s).some((e) => e.intelRdt !== undefined || e.additionalGids.length > 0)],
  [
    '0.6.0',
    (s) => Object.keys(s.annotations).length > 0 || s.devices.some((d) => Object.keys(d.annotations).length > 0) || (s.kind.split('/')[1] ?? '').includes('.'),
  ],
  ['0.5.0', (s) => s.devices.some((d) => /^[0-9]/.test(d.name)) || allEdits(s).some((e) => e.deviceNodes.some((n) => n.hostPath !== ''))],
  ['0.4.0', (s) => allEdits(s).some((e) => e.mounts.some((m) => m.type !== ''))],
];

/** The least version whose fields `spec` uses. */
export function minimumVersion(spec: CdiSpec): CdiVersion {
  for (const [version, uses] of REQUIRES) if (uses(spec)) return version;
  return EARLIEST;
}

/** Throws CdiSpecError unless cdiVersion is a released version (a leading "v" allowed) covering every field used. */
export function checkVersion(spec: CdiSpec): void {
  const declared = spec.cdiVersion.replace(/^v/, '');
  const at = CDI_VERSIONS.indexOf(declared as CdiVersion);
  if (at < 0) throw new CdiSpecError(`cdiVersion: ${JSON.stringify(spec.cdiVersion)} is not a CDI spec version (${[...CDI_VERSIONS].reverse().join(', ')})`);
  const least = minimumVersion(spec);
  if (CDI_VERSIONS.indexOf(least) < at) throw new CdiSpecError(`cdiVersion: the spec uses fields of CDI ${least}, so it must declare at least ${least}, not ${spec.cdiVersion}`);
}
