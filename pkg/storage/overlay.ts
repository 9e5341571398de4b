// The options string of an overlay mount of many layers. The kernel takes
// one page of mount data, so lower directories are named by short symlinks
// (l/<12 hex>) relative to the layers directory, where `mount` runs; 4096
// bytes then hold well over 200 layers where absolute paths hold about 40.
import { createHash } from 'node:crypto';

export const MOUNT_DATA_LIMIT = 4095;

/** The short link name of a lower directory: stable for the same path. */
export function shortLinkName(lowerDir: string): string {
  return createHash('sha256').update(lowerDir).digest('hex').slice(0, 12);
}

export interface OverlayLayout {
  /** Lower directories, topmost first (overlayfs order). */
  lowerDirs: string[];
  upperDir?: string;
  workDir?: string;
}

/** The mount options: lowerdir as l/<name> links, upper and work absolute. */
export function overlayOptions(layout: OverlayLayout): string[] {
  if (layout.lowerDirs.length === 0) throw new Error('an overlay needs at least one lower directory');
  const lower = layout.lowerDirs.map((d) => `l/${shortLinkName(d)}`).join(':');
  const options = [`lowerdir=${lower}`];
  if (layout.upperDir) options.push(`upperdir=${layout.upperDir}`, `workdir=${layout.workDir}`);
  const data = options.join(',');
  if (data.length > MOUNT_DATA_LIMIT) {
    throw new Error(`overlay mount options for ${layout.lowerDirs.length} layers need ${data.length} bytes; the kernel takes ${MOUNT_DATA_LIMIT}`);
  }
  return options;
}
