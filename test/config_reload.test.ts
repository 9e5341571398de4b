// Live reload of krilld's configuration (krill.admin.v1.Admin on the CRI
// socket, and SIGHUP) against a real krilld: drop-ins in its krill.d, a pod
// and a container running through every reload.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerState, PodSandboxState } from '../api/runtime/v1/api';
import { grpc } from '../pkg/criclient/client';
import { containerFixture, type ContainerFixture, type TestPod } from './harness/ctr_fixture';
import { testImage } from './harness/containers';
import { startKrilld, until } from './harness/krilld';
import { podConfig, runRequest } from './harness/pods';
import { pullReq, REGISTRY, spec, testImages } from './image_helpers';

const images = testImages();
const SLEEPER_IMAGE = testImage('layered');
// Registry names nobody resolves: reachable only through a mirror configured live.
const MIRRORED = 'reload-mirror.invalid';
const NOT_APPLIED = 'reload-refused.invalid';

let f: ContainerFixture;
let pod: TestPod;
let sleeper: string;
let sleeperPid: number;
let dropIns: string;

const dropIn = (name: string, toml: string): void => writeFileSync(join(dropIns, name), toml);

function metricsText(): Promise<string> {
  return f.client.runtime.status({ verbose: true }).then(async (s) => {
    const where = JSON.parse(s.info.metrics!) as { address: string; path: string };
    return (await fetch(`http://${where.address}${where.path}`)).text();
  });
}

function reloads(text: string, result: 'ok' | 'error'): number {
  return Number(new RegExp(`^krill_config_reloads_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 'NaN');
}

/** The pod and its container as they were before any reload: same state, same process. */
async function expectWorkloadUntouched(): Promise<void> {
  const p = await f.client.runtime.podSandboxStatus({ podSandboxId: pod.id, verbose: false });
  expect(p.status!.state).toBe(PodSandboxState.SANDBOX_READY);
  expect((await pod.status(sleeper)).state).toBe(ContainerState.CONTAINER_RUNNING);
  expect((await pod.info(sleeper)).pid).toBe(sleeperPid);
}

beforeAll(async () => {
  f = await containerFixture('reload', [SLEEPER_IMAGE]);
  dropIns = join(f.k.dir, 'krill.d');
  mkdirSync(dropIns, { recursive: true });
  pod = await f.pod();
  sleeper = await pod.start('sleeper', SLEEPER_IMAGE, { command: ['sleep', '3600'] });
  sleeperPid = (await pod.info(sleeper)).pid;
  expect(sleeperPid).toBeGreaterThan(1);
});
afterAll(async () => f.cleanup());

test('GetConfig before any reload: the running hash, the files, nothing pending', async () => {
  const c = await f.client.admin.getConfig({});
  expect(c.hash).toMatch(/^[0-9a-f]{64}$/);
  expect(c.files).toEqual([f.k.configFile]);
  expect(c.pendingRestart).toEqual([]);
  expect(c.lastReloadError).toBe('');
});

test('a drop-in adding a registry mirror is live after Reload: the pull goes through it; pod and container untouched', async () => {
  const ref = `${MIRRORED}/krill-test/user-uid:latest`;
  await expect(f.client.image.pullImage(pullReq(ref))).rejects.toMatchObject({ details: expect.stringContaining(MIRRORED) });
  const before = await f.client.admin.getConfig({});
  const okBefore = reloads(await metricsText(), 'ok');
  dropIn('50-mirror.toml', `[image.registries."${MIRRORED}"]\nmirrors = ["http://${REGISTRY}"]\nmirror_only = true\n`);
  const r = await f.client.admin.reload({});
  expect(r.applied).toEqual([`image.registries."${MIRRORED}"`]);
  expect(r.needsRestart).toEqual([]);
  expect(r.hash).not.toBe(before.hash);
  const after = await f.client.admin.getConfig({});
  expect(after).toEqual({ hash: r.hash, pendingRestart: [], files: [f.k.configFile, join(dropIns, '50-mirror.toml')], lastReloadError: '' });
  const pulled = await f.client.image.pullImage(pullReq(ref));
  expect(pulled.imageRef).toBe(images['user-uid']!.configDigest);
  const s = await f.client.image.imageStatus({ image: spec(ref), verbose: false });
  expect(s.image!.repoTags).toEqual([ref]);
  await expectWorkloadUntouched();
  expect(reloads(await metricsText(), 'ok')).toBe(okBefore + 1);
  // CRI Status (verbose) shows the configuration now running.
  const status = await f.client.runtime.status({ verbose: true });
  expect(JSON.parse(status.info.config!)).toMatchObject({ image: { registries: { [MIRRORED]: { mirrors: [`http://${REGISTRY}`], mirror_only: true } } } });
});

test('a bad drop-in: INVALID_ARGUMENT naming file and key; GetConfig reports it; the old configuration stays in effect', async () => {
  const before = await f.client.admin.getConfig({});
  const errorsBefore = reloads(await metricsText(), 'error');
  dropIn('60-bad.toml', `[image.registries."${NOT_APPLIED}"]\nmirrors = ["http://${REGISTRY}"]\nmirror_only = true\n[streaming]\nmax_sessions_per_container = 0\n`);
  try {
    const err = await f.client.admin.reload({}).then(
      () => undefined,
      (e: unknown) => e as grpc.ServiceError,
    );
    expect(err).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect(err!.details).toContain(join(dropIns, '60-bad.toml'));
    expect(err!.details).toContain('streaming.max_sessions_per_container');
    const c = await f.client.admin.getConfig({});
    expect(c).toEqual({ ...before, lastReloadError: err!.details });
    // Nothing of the bad file applies, not even its valid part; what was live stays live.
    await expect(f.client.image.pullImage(pullReq(`${NOT_APPLIED}/krill-test/httpd:latest`))).rejects.toMatchObject({ details: expect.stringContaining(NOT_APPLIED) });
    expect((await f.client.image.pullImage(pullReq(`${MIRRORED}/krill-test/httpd:latest`))).imageRef).toBe(images.httpd!.configDigest);
    expect(reloads(await metricsText(), 'error')).toBe(errorsBefore + 1);
    await until('the failed reload in the log', () => f.k.logs().some((l) => l.msg === 'configuration reload failed; the running configuration stays' && String(l.error).includes('60-bad.toml')));
  } finally {
    rmSync(join(dropIns, '60-bad.toml'));
  }
  const r = await f.client.admin.reload({});
  expect(r).toEqual({ hash: before.hash, applied: [], needsRestart: [] });
  expect((await f.client.admin.getConfig({})).lastReloadError).toBe('');
  await expectWorkloadUntouched();
});

test('a restart-only key is listed, not applied: needs_restart, then pending_restart, the hash unchanged', async () => {
  const before = await f.client.admin.getConfig({});
  dropIn('70-restart.toml', '[network]\nplugin_timeout = "45s"\n[image]\nmax_concurrent_downloads = 5\n');
  try {
    const r = await f.client.admin.reload({});
    expect(r).toEqual({ hash: before.hash, applied: [], needsRestart: ['image.max_concurrent_downloads', 'network.plugin_timeout'] });
    const c = await f.client.admin.getConfig({});
    expect(c.pendingRestart).toEqual(['image.max_concurrent_downloads', 'network.plugin_timeout']);
    expect(c.files).toContain(join(dropIns, '70-restart.toml'));
    const status = await f.client.runtime.status({ verbose: true });
    expect(JSON.parse(status.info.config!)).toMatchObject({ network: { plugin_timeout: '30s' }, image: { max_concurrent_downloads: 3 } });
  } finally {
    rmSync(join(dropIns, '70-restart.toml'));
  }
  const r = await f.client.admin.reload({});
  expect(r.needsRestart).toEqual([]);
  expect((await f.client.admin.getConfig({})).pendingRestart).toEqual([]);
});

test('SIGHUP reloads the same way: pinned_images and a new pause image are pinned in ListImages, ImageStatus and StreamImages', async () => {
  const uid = `${MIRRORED}/krill-test/user-uid:latest`;
  const httpd = `${MIRRORED}/krill-test/httpd:latest`;
  const pinned = async (): Promise<Record<string, boolean>> => {
    const list = await f.client.image.listImages({ filter: undefined });
    return Object.fromEntries(list.images.filter((i) => i.repoTags[0]?.startsWith(MIRRORED)).map((i) => [i.repoTags[0], i.pinned]));
  };
  expect(await pinned()).toEqual({ [uid]: false, [httpd]: false });
  const okBefore = reloads(await metricsText(), 'ok');
  dropIn('80-pinned.toml', `[image]\npinned_images = ["${MIRRORED}/krill-test/user-*"]\npause_image = "${httpd}"\n`);
  process.kill(f.k.pid(), 'SIGHUP');
  const line = await until('the SIGHUP reload in the log', () =>
    f.k.logs().find((l) => l.msg === 'configuration reloaded' && Array.isArray(l.applied) && (l.applied as string[]).includes('image.pinned_images')),
  );
  expect(line.applied).toEqual(['image.pause_image', 'image.pinned_images']);
  expect(f.k.logs().some((l) => l.msg === 'reloading the configuration' && l.signal === 'SIGHUP')).toBe(true);
  expect(await pinned()).toEqual({ [uid]: true, [httpd]: true });
  expect((await f.client.image.imageStatus({ image: spec(uid), verbose: false })).image!.pinned).toBe(true);
  expect((await f.client.image.imageStatus({ image: spec(SLEEPER_IMAGE), verbose: false })).image!.pinned).toBe(false);
  const streamed = await new Promise<{ repoTags: string[]; pinned: boolean }[]>((resolve, reject) => {
    const got: { repoTags: string[]; pinned: boolean }[] = [];
    const call = f.client.image.streamImages({ filter: undefined });
    call.on('data', (r: { images: { repoTags: string[]; pinned: boolean }[] }) => got.push(...r.images));
    call.on('error', reject);
    call.on('end', () => resolve(got));
  });
  expect(Object.fromEntries(streamed.map((i) => [i.repoTags[0], i.pinned]))).toMatchObject({ [uid]: true, [httpd]: true, [SLEEPER_IMAGE]: false });
  expect((await f.client.admin.getConfig({})).hash).toBe(line.hash);
  expect(reloads(await metricsText(), 'ok')).toBe(okBefore + 1);
  // A pinned image stays until its pin goes.
  await expect(f.client.image.removeImage({ image: spec(uid) })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: expect.stringContaining('is pinned') });
  expect((await f.client.image.imageStatus({ image: spec(uid), verbose: false })).image!.pinned).toBe(true);
  expect(f.k.pid()).toBeGreaterThan(0);
  await expectWorkloadUntouched();
});

test('a runtime handler added by a drop-in serves new pods at once', async () => {
  const config = podConfig({ name: 'reload-handler', cgroupParent: `${f.cgroupParent}/reload-handler` });
  await expect(f.client.runtime.runPodSandbox(runRequest(config, 'extra'))).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  dropIn('90-handler.toml', '[runtime.handlers.extra]\nbinary = "/usr/bin/runc"\n');
  const r = await f.client.admin.reload({});
  expect(r.applied).toEqual(['runtime.handlers.extra']);
  const status = await f.client.runtime.status({ verbose: false });
  expect(status.runtimeHandlers.map((h) => h.name)).toContain('extra');
  const podId = (await f.client.runtime.runPodSandbox(runRequest(config, 'extra'))).podSandboxId;
  f.adopt(podId);
  expect((await f.client.runtime.podSandboxStatus({ podSandboxId: podId, verbose: false })).status!.runtimeHandler).toBe('extra');
  await f.client.runtime.stopPodSandbox({ podSandboxId: podId });
  await f.client.runtime.removePodSandbox({ podSandboxId: podId });
  // Taking it away again waits for a restart: pods may run on it.
  rmSync(join(dropIns, '90-handler.toml'));
  expect((await f.client.admin.reload({})).needsRestart).toEqual(['runtime.handlers.extra']);
  await expectWorkloadUntouched();
});

test('streaming limits apply to the next URL; a key the start flags set stays as the flag says', async () => {
  const execReq = { containerId: sleeper, cmd: ['true'], tty: false, stdin: false, stdout: true, stderr: true };
  // The harness starts krilld with --log-level debug: a drop-in cannot change it.
  dropIn('85-streaming.toml', 'log_level = "error"\n[streaming]\nmax_sessions_per_container = 1\n');
  try {
    expect((await f.client.admin.reload({})).applied).toEqual(['streaming.max_sessions_per_container']);
    await f.client.runtime.exec(execReq);
    await expect(f.client.runtime.exec(execReq)).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringContaining('1 streaming sessions') });
  } finally {
    rmSync(join(dropIns, '85-streaming.toml'));
  }
  expect((await f.client.admin.reload({})).applied).toEqual(['streaming.max_sessions_per_container']);
  expect((await f.client.runtime.exec(execReq)).url).toMatch(/^http:\/\//);
  const status = await f.client.runtime.status({ verbose: true });
  expect(JSON.parse(status.info.config!)).toMatchObject({ log_level: 'debug', streaming: { max_sessions_per_container: 32 } });
});

test('Restart: a bad configuration is refused and nothing happens; a good one re-executes krilld in place, restart-only keys take effect, the workload survives', async () => {
  const pid = f.k.pid();
  dropIn('95-bad.toml', '[network]\nplugin_timeout = "soon"\n');
  try {
    await expect(f.client.admin.restart({})).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('95-bad.toml') });
  } finally {
    rmSync(join(dropIns, '95-bad.toml'));
  }
  expect((await f.client.admin.getConfig({})).lastReloadError).toContain('network.plugin_timeout');

  dropIn('95-restart.toml', '[network]\nplugin_timeout = "45s"\n');
  try {
    // The handler the test above added and took away again goes with this restart too.
    const pending = ['runtime.handlers.extra', 'network.plugin_timeout'];
    expect((await f.client.admin.reload({})).needsRestart).toEqual(pending);
    const started = f.k.logs().filter((l) => l.msg === 'krilld serving').length;
    expect(await f.client.admin.restart({})).toEqual({ pendingRestart: pending });
    await until('krilld serving again', () => f.k.logs().filter((l) => l.msg === 'krilld serving').length > started, 60_000);
    const c = await until('GetConfig answering again', () => f.client.admin.getConfig({}).catch(() => undefined), 60_000);
    expect(c.pendingRestart).toEqual([]);
    expect(c.lastReloadError).toBe('');
    expect(f.k.pid()).toBe(pid);
    const status = await f.client.runtime.status({ verbose: true });
    expect(JSON.parse(status.info.config!)).toMatchObject({ network: { plugin_timeout: '45s' } });
    expect(status.runtimeHandlers.map((h) => h.name)).not.toContain('extra');
    expect(f.k.logs().some((l) => l.msg === 'restarting: krilld executes itself again; containers keep running')).toBe(true);
    await expectWorkloadUntouched();
  } finally {
    rmSync(join(dropIns, '95-restart.toml'));
  }
});

test('log_level is live: debug lines appear from the reload on, in loggers made before it', async () => {
  // A krilld of its own: the fixture's is started with --log-level debug, which the files cannot change.
  const k = await startKrilld({ debugLogFlag: false, config: 'log_level = "info"\n' });
  try {
    const lines = (): Record<string, unknown>[] => k.logs();
    await k.client.runtime.version({ version: '' });
    mkdirSync(join(k.dir, 'krill.d'), { recursive: true });
    writeFileSync(join(k.dir, 'krill.d', '10-debug.toml'), 'log_level = "debug"\n');
    expect((await k.client.admin.reload({})).applied).toEqual(['log_level']);
    const reloaded = await until('the reload in the log', () => {
      const i = lines().findIndex((l) => l.msg === 'configuration reloaded');
      return i >= 0 ? i : undefined;
    });
    expect(lines().slice(0, reloaded).filter((l) => l.level === 'debug')).toEqual([]);
    // Made from the CRI server's logger, which was made at start with level info.
    await k.client.runtime.version({ version: '' });
    await until('a debug line of the CRI server', () => lines().some((l) => l.level === 'debug' && l.msg === 'Version done'));
  } finally {
    await k.cleanup();
  }
});
