// Recovery after a restart (an upgrade, a crash, a reboot), in one pass and
// in this order:
//   1. images: image records whose layers are gone are dropped; unused
//      layers and blobs are collected;
//   2. runtime: exec sessions of a krilld that died are swept, and exits are
//      watched from now on (so that none is missed below);
//   3. pods, a few at a time: half-created ones are torn down, ready ones whose
//      namespaces, shm or infra are gone are marked not ready (their CNI
//      CHECK comes after krilld serves: SandboxManager.checkNetworks);
//   4. containers, a few at a time, against one listing of the runtime's
//      containers: half-created ones are torn down, exits
//      recorded while krilld was down are stored (and replayed to event
//      subscribers), containers the runtime lost are marked exited;
//   5. leftovers: what exists under Krill's roots that no record owns
//      (runtime containers and their monitors, bundles, root filesystems,
//      pinned namespaces, pod directories, CNI networks) is removed.
// A crash between any two steps of any operation leaves either a record
// (completed or torn down in 3 and 4) or no record (swept in 5).
// Every object gets a deadline and its outcome is logged; no object's
// failure stops the daemon (its record stays as it was, and Stop/Remove
// finish the cleanup).
import type { ContainerEvent, ContainerManager } from '../../pkg/container/manager';
import type { ImageManager } from '../../pkg/image/manager';
import type { Logger } from '../../pkg/log/logger';
import type { OciRuntime } from '../../pkg/runtime/runtime';
import type { SandboxManager } from '../../pkg/sandbox/manager';

/** How long recovering one pod or container may take before the next one is taken up. */
export const OBJECT_DEADLINE_MS = 60_000;
/** Objects recovered at once: each waits on the file system, little on the CPU. */
const CONCURRENCY = 8;

export interface RecoveryParts {
  images: Pick<ImageManager, 'recover'>;
  runtime: Pick<OciRuntime, 'recover' | 'states'>;
  sandboxes: Pick<SandboxManager, 'records' | 'recover' | 'sweepLeftovers'>;
  containers: Pick<ContainerManager, 'records' | 'recover' | 'watchExits' | 'events' | 'sweepLeftovers'>;
}

export interface RecoveryReport {
  pods: Record<string, number>;
  containers: Record<string, number>;
  failed: number;
  /** What no record owned and was removed. */
  leftovers: string[];
  /** STOPPED events of containers found exited (replayed to GetContainerEvents subscribers). */
  exitedWhileDown: ContainerEvent[];
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000}s`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

async function eachObject<T extends string>(
  kind: 'pod' | 'container',
  ids: string[],
  recoverOne: (id: string, log: Logger) => Promise<T>,
  log: Logger,
  deadlineMs: number,
  report: RecoveryReport,
): Promise<Record<string, number>> {
  const outcomes: Record<string, number> = {};
  const one = async (id: string): Promise<void> => {
    const olog = log.child(kind === 'pod' ? { pod_id: id } : { container_id: id });
    try {
      const outcome = await withDeadline(recoverOne(id, olog), deadlineMs, `recovering ${kind} ${id}`);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      olog.info({ outcome }, `${kind} recovered`);
    } catch (err) {
      report.failed++;
      olog.error({ err }, `could not recover the ${kind}; its record is left as it was`);
    }
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ids.length) await one(ids[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, worker));
  return outcomes;
}

export async function recover(parts: RecoveryParts, log: Logger, deadlineMs = OBJECT_DEADLINE_MS): Promise<RecoveryReport> {
  const rlog = log.child({ component: 'recovery' });
  const report: RecoveryReport = { pods: {}, containers: {}, failed: 0, leftovers: [], exitedWhileDown: [] };
  const started = performance.now();

  await parts.images.recover();
  await parts.runtime.recover();
  parts.containers.watchExits();

  report.pods = await eachObject('pod', parts.sandboxes.records().map((s) => s.id), (id, l) => parts.sandboxes.recover(id, l), rlog, deadlineMs, report);

  const collect = (e: ContainerEvent): void => {
    if (e.kind === 'stopped') report.exitedWhileDown.push(e);
  };
  parts.containers.events.on('event', collect);
  try {
    const listed = await parts.runtime.states();
    report.containers = await eachObject('container', parts.containers.records().map((c) => c.id), (id, l) => parts.containers.recover(id, l, listed), rlog, deadlineMs, report);
  } finally {
    parts.containers.events.off('event', collect);
  }
  try {
    const podIds = new Set(parts.sandboxes.records().map((s) => s.id));
    report.leftovers.push(...(await parts.containers.sweepLeftovers(podIds, rlog)));
    report.leftovers.push(...(await parts.sandboxes.sweepLeftovers(rlog)));
  } catch (err) {
    report.failed++;
    rlog.error({ err }, 'could not sweep every leftover; the next start tries again');
  }
  rlog.info(
    { pods: report.pods, containers: report.containers, leftovers: report.leftovers.length, failed: report.failed, ms: Math.round(performance.now() - started) },
    'recovery done',
  );
  return report;
}
