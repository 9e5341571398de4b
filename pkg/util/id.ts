import { randomBytes } from 'node:crypto';

/** A new object ID: 64 lowercase hex characters, as Docker and containerd make them. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Finds the one ID among `ids` that equals `idOrPrefix` or starts with it.
 * Returns undefined when there is none; throws when a prefix is ambiguous.
 */
export function matchIdPrefix(ids: Iterable<string>, idOrPrefix: string): string | undefined {
  let found: string | undefined;
  for (const id of ids) {
    if (id === idOrPrefix) return id;
    if (idOrPrefix.length > 0 && id.startsWith(idOrPrefix)) {
      if (found !== undefined) throw new AmbiguousIdError(idOrPrefix);
      found = id;
    }
  }
  return found;
}

export class AmbiguousIdError extends Error {
  constructor(readonly prefix: string) {
    super(`ID prefix ${JSON.stringify(prefix)} matches more than one object`);
    this.name = 'AmbiguousIdError';
  }
}
