// Network settings kubelet pushes (UpdateRuntimeConfig's pod CIDR), kept in
// the state store: kubelet sends them only when they change, so a restarted
// krilld must remember them.
import { isIP } from 'node:net';
import type { Store } from '../store/db';

const KEY_POD_CIDRS = 'pod_cidrs';

export class NetworkSettings {
  constructor(private readonly store: Store) {
    store.migrate('network', [{ version: 1, sql: 'CREATE TABLE network_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);' }]);
  }

  podCidrs(): string[] {
    const row = this.store.db.prepare('SELECT value FROM network_settings WHERE key = ?').get(KEY_POD_CIDRS) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as string[]) : [];
  }

  setPodCidrs(cidrs: string[]): void {
    this.store.db
      .prepare('INSERT INTO network_settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
      .run(KEY_POD_CIDRS, JSON.stringify(cidrs));
  }
}

/** "10.1.0.0/24" or "10.1.0.0/24,fd00::/64" (dual-stack) → the CIDRs; throws with the reason when one is malformed. */
export function parsePodCidrs(text: string): string[] {
  const cidrs = text.split(',').map((c) => c.trim()).filter(Boolean);
  for (const cidr of cidrs) {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
    const ipVersion = m ? isIP(m[1]!) : 0;
    const max = ipVersion === 4 ? 32 : 128;
    if (!m || ipVersion === 0 || Number(m[2]) > max) throw new Error(`${JSON.stringify(cidr)} is not a CIDR`);
  }
  return cidrs;
}
