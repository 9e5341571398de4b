// Parsing /proc/self/mountinfo text: the one place that knows its field
// layout and its octal escapes. Pure, so that pkg/oci may use it; reading the
// table is pkg/storage/mount.ts's job.

/** Decodes the octal escapes (\040 for a space, ...) mountinfo uses in paths. */
export function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mount points (field 5) of mountinfo text, in table order. */
export function mountPointsIn(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .filter(Boolean)
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''));
}

/** `dir` itself and every mount point below it. */
export function pointsUnder(mountPoints: readonly string[], dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mountPoints.filter((m) => m === dir || m.startsWith(prefix));
}
