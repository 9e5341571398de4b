// krilld's admin service (krill.admin.v1.Admin, on the CRI socket): the Reload
// the agent calls after changing a drop-in.
import * as grpc from '@grpc/grpc-js';
import { AdminClient } from '../../api/krill/admin/v1/admin';
import type { ReloadResult } from './cluster_config';
import { ReloadError, type AdminCaller } from './runtime';

const RELOAD_TIMEOUT_MS = 30_000;

export function connectAdmin(socket: string): AdminCaller {
  const target = socket.startsWith('unix:') ? socket : `unix://${socket}`;
  const client = new AdminClient(target, grpc.credentials.createInsecure());
  return {
    reload: () =>
      new Promise<ReloadResult>((resolve, reject) => {
        client.reload({}, new grpc.Metadata(), { deadline: Date.now() + RELOAD_TIMEOUT_MS }, (err, res) => {
          if (err) reject(new ReloadError(err.code === grpc.status.INVALID_ARGUMENT ? 'rejected' : 'unavailable', err.details || err.message));
          else resolve({ hash: res.hash, applied: res.applied, needsRestart: res.needsRestart });
        });
      }),
    close: () => client.close(),
  };
}
