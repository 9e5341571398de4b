// Which paths a layer entry may name. Layers are unpacked into an empty
// directory; an entry is accepted only when it names a place inside it
// without help from "..", an absolute path or a symlink (checked by the
// unpacker against what it has created).

export class UnsafeEntryError extends Error {
  constructor(
    readonly entry: string,
    readonly reason: string,
  ) {
    super(`layer entry ${JSON.stringify(entry)}: ${reason}`);
    this.name = 'UnsafeEntryError';
  }
}

/**
 * The components of an entry's path relative to the layer root ([] for the
 * root itself). "./" prefixes and "." components are dropped; "..", an
 * absolute path and NUL bytes are refused.
 */
export function entryComponents(name: string, what = name): string[] {
  if (name.includes('\0')) throw new UnsafeEntryError(what, 'path contains a NUL byte');
  if (name.startsWith('/')) throw new UnsafeEntryError(what, 'absolute path (it would land outside the layer)');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeEntryError(what, 'path contains ".." (it would land outside the layer)');
  return parts;
}
