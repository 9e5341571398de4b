// Named crash points: places in the create/start/stop/remove paths of pods
// and containers, the pull path of images and the exec path where krilld may
// die (SIGKILL, a power cut) and must still lose nothing and leak nothing at
// its next start. A test sets KRILL_CRASH_AT=<name> (with KRILL_TEST_RUN,
// which a normal start never has: krilld refuses the first without the
// second) and krilld kills itself with SIGKILL when it reaches that point.
// test/crash_points.test.ts walks every name of CRASH_POINTS; a unit test
// checks that every crashPoint() call names one of them and that each is used.

export const CRASH_POINTS = [
  // RunPodSandbox
  'pod.create.recorded',
  'pod.create.cgroup',
  'pod.create.namespaces',
  'pod.create.network',
  'pod.create.infra',
  'pod.create.files',
  // StopPodSandbox, RemovePodSandbox
  'pod.stop.torn-down',
  'pod.remove.torn-down',
  'pod.remove.files',
  // CreateContainer
  'container.create.recorded',
  'container.create.rootfs',
  'container.create.spec',
  'container.create.runtime',
  // StartContainer, StopContainer, RemoveContainer
  'container.start.runtime',
  'container.stop.runtime',
  'container.remove.runtime',
  'container.remove.rootfs',
  // PullImage
  'image.pull.layer-unpacked',
  'image.pull.layer-committed',
  'image.pull.recorded',
  // ExecSync, Exec
  'exec.spec-written',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

const ENV = 'KRILL_CRASH_AT';

/** Refuses a crash point set outside a test run (called once at start). */
export function checkCrashPointSetting(env: NodeJS.ProcessEnv = process.env): void {
  const at = env[ENV];
  if (at === undefined || at === '') return;
  if (!env.KRILL_TEST_RUN) throw new Error(`${ENV} is set (${at}): it is for Krill's own tests only; unset it`);
  if (!(CRASH_POINTS as readonly string[]).includes(at)) throw new Error(`${ENV}=${at} names no crash point (known: ${CRASH_POINTS.join(', ')})`);
}

/** Dies here, as a SIGKILL would, when a test asked for it. */
export function crashPoint(name: CrashPoint): void {
  if (process.env[ENV] === name && process.env.KRILL_TEST_RUN) process.kill(process.pid, 'SIGKILL');
}
