// Faults krilld must survive: its containers' monitor (conmon) killed, the
// node rebooted under running containers (the state dir and everything in
// memory gone), a damaged state database, and CNI plugins that hang on DEL or
// CHECK. Each ends with everything removable and nothing left on the host
// (this file's leak check).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerState, PodSandboxState } from '../api/runtime/v1/api';
import { mountsUnder } from '../pkg/storage/mount';
import { containerFixture, type ContainerFixture } from './harness/ctr_fixture';
import { pull, testImage } from './harness/containers';
import { grpc } from '../pkg/criclient/client';
import { pickTestNetwork, until } from './harness/krilld';
import { conmonsOf } from './harness/conmon';
import { testBaseDir } from './harness/paths';
import { dropPodNatRules } from './harness/pods';

const IMAGE = testImage('compress-gzip');
/** The argument of the hung CNI plugin's child (`sleep <it>`), to find it by. */
const HANG_MARK = '7777';
/**
 * The CNI plugin timeout of the hang tests. The real bridge plugin runs under
 * it too: 2 s was too short for its ADD on a loaded machine (a soak under a
 * CPU hog timed it out).
 */
const PLUGIN_TIMEOUT_MS = 6000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('conmon killed under a running container', () => {
  let f: ContainerFixture;
  beforeAll(async () => {
    f = await containerFixture('faults-conmon', [IMAGE], { config: '[runtime]\nmonitor_check = "500ms"\n' });
  });
  afterAll(() => f.cleanup());

  test('the container is reported exited with a reason, its process is killed, and it can be removed', async () => {
    const pod = await f.pod();
    const id = await pod.start('sleeper', IMAGE, { command: ['sleep', '3600'] });
    const info = JSON.parse((await f.client.runtime.containerStatus({ containerId: id, verbose: true })).info.info!) as { pid: number };
    const conmons = conmonsOf(f.k).filter((c) => c.containerId === id).map((c) => c.pid);
    expect(conmons).toHaveLength(1);
    process.kill(conmons[0]!, 'SIGKILL');

    const s = await waitFor('the container to be reported exited', async () => {
      const st = await pod.status(id);
      return st.state === ContainerState.CONTAINER_EXITED ? st : undefined;
    });
    expect(s.reason).toBe('Error');
    expect(s.message).toMatch(/monitor \(conmon\) died/);
    expect(s.exitCode).toBe(137);
    await waitFor('the container process to be gone', async () => (alive(info.pid) ? undefined : true));
    await f.client.runtime.removeContainer({ containerId: id });
    // The pod goes on: a new container in it runs.
    const again = await pod.sh('after', IMAGE, 'echo fine');
    expect(again.stdout).toBe('fine\n');
  });
});

describe('the node rebooted under running containers', () => {
  let f: ContainerFixture;
  beforeAll(async () => {
    f = await containerFixture('faults-reboot', [IMAGE]);
  });
  afterAll(() => f.cleanup());

  test('after the restart pods are not ready and containers exited, all removable, nothing left', async () => {
    const pods = [await f.pod(), await f.pod({ sharePid: true })];
    const ids = [];
    for (const p of pods) ids.push(await p.start('sleeper', IMAGE, { command: ['sleep', '3600'] }));
    const created = await pods[0]!.create('created-only', IMAGE, { command: ['true'] });

    // A reboot, as far as one machine can play it: krilld and every process
    // of its containers die at once, every mount goes, and /run (the state
    // dir) starts empty. The persistent root stays.
    await f.k.kill9();
    for (const c of conmonsOf(f.k)) process.kill(c.pid, 'SIGKILL');
    const inPods = execFileSync('sh', ['-c', `find /sys/fs/cgroup/pids${f.cgroupParent} -name cgroup.procs -exec cat {} +`], { encoding: 'utf8' });
    for (const pid of inPods.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await waitFor('the containers\' processes to be gone', async () => (conmonsOf(f.k).length === 0 ? true : undefined));
    for (const m of mountsUnder(f.k.dir).reverse()) execFileSync('umount', ['-l', m]);
    // A reboot empties the kernel's iptables: the rules CNI made for these pods go.
    dropPodNatRules(pods.map((p) => p.id));
    for (const e of readdirSync(f.k.state)) rmSync(join(f.k.state, e), { recursive: true, force: true });
    await f.k.restart();

    for (const p of pods) {
      const st = (await f.client.runtime.podSandboxStatus({ podSandboxId: p.id, verbose: false })).status!;
      expect(st.state).toBe(PodSandboxState.SANDBOX_NOTREADY);
    }
    for (const id of [...ids, created]) {
      const st = await pods[0]!.status(id).catch(() => pods[1]!.status(id));
      expect(st.state).toBe(ContainerState.CONTAINER_EXITED);
    }
    // kubelet's way out: stop and remove every pod (which removes its containers).
    for (const p of pods) {
      await f.client.runtime.stopPodSandbox({ podSandboxId: p.id });
      await f.client.runtime.removePodSandbox({ podSandboxId: p.id });
    }
    expect((await f.client.runtime.listContainers({ filter: undefined })).containers).toEqual([]);
    expect(readdirSync(join(f.k.root, 'cni', 'networks', 'krill')).filter((e) => /^\d/.test(e))).toEqual([]);
    expect(mountsUnder(f.k.dir)).toEqual([]);
  });
});

describe('a damaged state database', () => {
  let f: ContainerFixture;
  beforeAll(async () => {
    f = await containerFixture('faults-db', []);
  });
  afterAll(() => f.cleanup());

  test('stops the start with a message naming the file and what to do, and is left as it was', async () => {
    await f.k.stop();
    const db = join(f.k.root, 'krill.db');
    const damaged = Buffer.alloc(64 * 1024, 0x5a);
    writeFileSync(db, damaged);
    rmSync(`${db}-wal`, { force: true });
    rmSync(`${db}-shm`, { force: true });
    await expect(f.k.restart()).rejects.toThrow(new RegExp(`state database ${db} is damaged.*move it aside`));
    expect(readFileSync(db).equals(damaged)).toBe(true);
    // Moved aside as the message says, krilld starts with an empty state.
    execFileSync('mv', [db, `${db}.damaged`]);
    await f.k.restart();
    expect((await f.client.runtime.listPodSandbox({ filter: undefined })).items).toEqual([]);
  });
});

describe('CNI plugins that hang', () => {
  let f: ContainerFixture;
  let hangOn: string;
  let bridge: string;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(testBaseDir(), 'cni-hang-'));
    const net = pickTestNetwork(dir);
    bridge = net.bridge;
    mkdirSync(join(dir, 'bin'));
    mkdirSync(net.cniConfDir, { recursive: true });
    hangOn = join(dir, 'hang-on');
    writeFileSync(hangOn, '');
    // Passes the previous result through, but hangs (with a child of its own) on the command named in hang-on.
    writeFileSync(
      join(dir, 'bin', 'krill-test-hang'),
      `#!${process.execPath}
const fs = require('node:fs');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
if (process.env.CNI_COMMAND === fs.readFileSync(${JSON.stringify(hangOn)}, 'utf8')) {
  require('node:child_process').spawn('sleep', ['${HANG_MARK}'], { stdio: 'ignore' });
  setInterval(() => {}, 1000);
} else if (process.env.CNI_COMMAND === 'ADD') {
  process.stdout.write(JSON.stringify(input.prevResult));
}
`,
    );
    chmodSync(join(dir, 'bin', 'krill-test-hang'), 0o755);
    writeFileSync(
      join(net.cniConfDir, '10-hang.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'hang',
        plugins: [
          { type: 'bridge', bridge: net.bridge, isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: net.subnet }]], dataDir: join(dir, 'leases') } },
          { type: 'krill-test-hang' },
        ],
      }),
    );
    f = await containerFixture('faults-cni', [], {
      config: `[network]\ncni_conf_dir = "${net.cniConfDir}"\ncni_bin_dirs = ["${join(dir, 'bin')}", "/usr/lib/cni"]\nplugin_timeout = "${PLUGIN_TIMEOUT_MS}ms"\n`,
    });
  });
  afterAll(async () => {
    writeFileSync(hangOn, '');
    await f.cleanup();
    try {
      execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    } catch {
      // not made
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('a DEL that hangs is killed at plugin_timeout: StopPodSandbox fails clearly, krilld keeps serving, and a retry cleans up', async () => {
    const pod = await f.pod();
    writeFileSync(hangOn, 'DEL');
    const started = Date.now();
    await expect(f.client.runtime.stopPodSandbox({ podSandboxId: pod.id })).rejects.toThrow(new RegExp(`krill-test-hang.*\\(del\\).*timed out after ${PLUGIN_TIMEOUT_MS} ms`));
    expect(Date.now() - started).toBeLessThan(PLUGIN_TIMEOUT_MS + 20_000);
    // Nothing of the hung plugin is left running (its child included).
    expect(execFileSync('sh', ['-c', 'pgrep -fx "sleep ${HANG_MARK}" || true'], { encoding: 'utf8' }).trim()).toBe('');
    expect((await f.client.runtime.version({ version: '' })).runtimeName).toBe('krill');
    writeFileSync(hangOn, '');
    await f.client.runtime.stopPodSandbox({ podSandboxId: pod.id });
    await f.client.runtime.removePodSandbox({ podSandboxId: pod.id });
  });

  test('a CHECK that hangs after a restart does not hold the start, is killed at plugin_timeout, and the pod stays usable', async () => {
    const pod = await f.pod();
    writeFileSync(hangOn, 'CHECK');
    await f.k.restart();
    const gaveUp = (l: Record<string, unknown>): boolean => l.msg === 'CNI CHECK could not run; the pod is left as it is' && JSON.stringify(l.err).includes(`timed out after ${PLUGIN_TIMEOUT_MS} ms`);
    await until('the hung CHECK to be given up', () => f.k.logs().some(gaveUp));
    // krilld served before the CHECK ended: the check runs after the start.
    const logs = f.k.logs();
    expect(logs.findLastIndex((l) => l.msg === 'krilld serving')).toBeLessThan(logs.findIndex(gaveUp));
    const st = (await f.client.runtime.podSandboxStatus({ podSandboxId: pod.id, verbose: false })).status!;
    // A plugin that cannot answer is no verdict on the pod's network: it stays ready, with a warning.
    expect(st.state).toBe(PodSandboxState.SANDBOX_READY);
    expect(execFileSync('sh', ['-c', 'pgrep -fx "sleep ${HANG_MARK}" || true'], { encoding: 'utf8' }).trim()).toBe('');
    writeFileSync(hangOn, '');
    await f.client.runtime.stopPodSandbox({ podSandboxId: pod.id });
    await f.client.runtime.removePodSandbox({ podSandboxId: pod.id });
  });
});

describe('RemoveImage racing a pull and a CreateContainer', () => {
  let f: ContainerFixture;
  beforeAll(async () => {
    f = await containerFixture('faults-rmi', []);
  });
  afterAll(() => f.cleanup());

  const layerDirs = (): string[] => readdirSync(join(f.k.root, 'layers')).filter((e) => /^[0-9a-f]{64}$/.test(e)).sort();
  const listed = async (ref: string): Promise<boolean> => (await f.client.image.imageStatus({ image: { image: ref, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' }, verbose: false })).image !== undefined;

  test('a CreateContainer that resolved the image keeps its layers; otherwise it is NotFound; never a broken container', async () => {
    const before = layerDirs();
    const pod = await f.pod();
    for (let round = 0; round < 8; round++) {
      await pull(f.client, IMAGE);
      // A hostPath mount makes CreateContainer wait on the filesystem between resolving the image and mounting it.
      const creating = pod
        .create(`racer-${round}`, IMAGE, { command: ['cat', '/etc/hostname'], mounts: [{ containerPath: '/mnt', hostPath: f.k.dir, readonly: true }] })
        .then((id) => ({ id }), (err: { code?: number; details?: string }) => ({ err }));
      const removing = f.client.image.removeImage({ image: { image: IMAGE, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' } });
      const [created] = await Promise.all([creating, removing]);
      if ('err' in created) {
        expect(created.err).toMatchObject({ code: grpc.status.NOT_FOUND, details: expect.stringMatching(/not found: pull it first/) });
        continue;
      }
      await f.client.runtime.startContainer({ containerId: created.id });
      const s = await waitFor('the racer to exit', async () => {
        const st = await pod.status(created.id);
        return st.state === ContainerState.CONTAINER_EXITED ? st : undefined;
      });
      expect(s.exitCode).toBe(0);
      expect(await listed(IMAGE)).toBe(false);
      await f.client.runtime.removeContainer({ containerId: created.id });
    }
    await waitFor('the layers of the removed image to be collected', async () => (layerDirs().join() === before.join() ? true : undefined));
  });

  test('RemoveImage during a pull: the pull still ends with a whole, usable image (or none), never a partial one', async () => {
    const before = layerDirs();
    const pod = await f.pod();
    for (let round = 0; round < 5; round++) {
      const pulling = pull(f.client, IMAGE);
      const removing = f.client.image.removeImage({ image: { image: IMAGE, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' } });
      await Promise.all([pulling, removing]);
      if (!(await listed(IMAGE))) continue;
      const r = await pod.sh(`after-pull-${round}`, IMAGE, 'ls / >/dev/null && echo whole');
      expect(r.stdout).toBe('whole\n');
      await f.client.image.removeImage({ image: { image: IMAGE, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' } });
    }
    await waitFor('the layers to be collected', async () => (layerDirs().join() === before.join() ? true : undefined));
    // Nothing half-made is left: only layers, their short links (l/) and the scratch dir.
    expect(readdirSync(join(f.k.root, 'layers')).filter((e) => !/^[0-9a-f]{64}$/.test(e) && e !== 'tmp' && e !== 'l')).toEqual([]);
    expect(readdirSync(join(f.k.root, 'layers', 'l'))).toHaveLength(before.length);
  });
});

describe('a full disk under the root directory', () => {
  let f: ContainerFixture;
  let disk: string;
  const filler = (): string => join(disk, 'root', 'filler');
  /** Fills the filesystem to the last byte but `leaveBytes`. */
  const fill = (leaveBytes = 0): void => {
    const reserve = join(disk, 'root', 'reserve');
    if (leaveBytes > 0) writeFileSync(reserve, Buffer.alloc(leaveBytes));
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler()}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      // dd stops at ENOSPC: that is the point
    }
    rmSync(reserve, { force: true });
  };
  beforeAll(async () => {
    disk = mkdtempSync(join(testBaseDir(), 'enospc-'));
    mkdirSync(join(disk, 'root'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'tmpfs', join(disk, 'root')]);
    f = await containerFixture('faults-enospc', [], { args: ['--root', join(disk, 'root')] });
  });
  afterAll(async () => {
    rmSync(filler(), { force: true });
    await f.cleanup();
    execFileSync('umount', [join(disk, 'root')]);
    rmSync(disk, { recursive: true, force: true });
  });

  test('a pull that runs out of space fails clearly, leaves no partial image, and succeeds once there is space', async () => {
    fill(256 * 1024);
    // The layer's bytes or its record hit the full disk first, depending on how much the reserve holds.
    await expect(pull(f.client, IMAGE)).rejects.toMatchObject({ details: expect.stringMatching(/no space left on device|database or disk is full/i) });
    expect((await f.client.image.listImages({ filter: undefined })).images).toEqual([]);
    expect(readdirSync(join(disk, 'root', 'layers')).filter((e) => e.startsWith('tmp-') || e.startsWith('trash-'))).toEqual([]);
    rmSync(filler());
    await pull(f.client, IMAGE);
    const pod = await f.pod();
    expect((await pod.sh('works', IMAGE, 'echo fine')).stdout).toBe('fine\n');
  });

  test('a database write that finds the disk full fails the call clearly and makes nothing; krilld stays up', async () => {
    const podsBefore = (await f.client.runtime.listPodSandbox({ filter: undefined })).items.map((p) => p.id).sort();
    const dirsBefore = readdirSync(join(f.k.state, 'pods')).sort();
    fill();
    const err = await f.pod().then(() => undefined, (e: { details?: string }) => e);
    expect(err?.details).toMatch(/database or disk is full|no space left on device/i);
    expect((await f.client.runtime.listPodSandbox({ filter: undefined })).items.map((p) => p.id).sort()).toEqual(podsBefore);
    expect((await f.client.runtime.version({ version: '' })).runtimeName).toBe('krill');
    expect(readdirSync(join(f.k.state, 'pods')).sort()).toEqual(dirsBefore);
    rmSync(filler());
    const pod = await f.pod();
    expect((await pod.sh('after', IMAGE, 'echo fine')).stdout).toBe('fine\n');
  });
});
