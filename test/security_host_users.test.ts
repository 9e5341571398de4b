// What a host user can reach on a node running Krill: after a workload of
// every kind (pods, user-namespaced and shared-pid pods, containers, exec,
// attach, port-forward, pulls, logs), nothing krilld made is open to other
// users beyond a short allow-list, and the user nobody can neither read a
// secret nor reach (or run) anything inside a container's root filesystem.
import { randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NamespaceMode } from '../api/runtime/v1/api';
import { PortForwardClient, spdyRemoteCommand, type RemoteCommandSession } from '../pkg/streaming/testing/client';
import { testImage } from './harness/containers';
import { containerFixture, TestPod, type ContainerFixture } from './harness/ctr_fixture';
import { asNobody, buildShowEuid, openModes, type Allowance } from './harness/permissions';
import { podConfig, runRequest, uniqueName } from './harness/pods';

const HTTPD = testImage('httpd');
const SETUID = testImage('setuid');
const SETUID_BINARY = '/usr/bin/show-euid';

/** Allowed in the root directory (/var/lib/krill): each with its consumer. */
const ROOT_ALLOW: Allowance[] = [
  { pattern: 'layers/*/diff', mode: 0o7777, stop: true, why: "an image layer's own content, as the image has it; layers/ is 0700" },
  { pattern: 'containers-fs/*/upper', mode: 0o755, stop: true, why: "a container's writable layer: its mode is the container's / ; containers-fs/<id> is 0700" },
  { pattern: 'containers-fs/*/lower/*', mode: 0o7777, stop: true, why: 'a read-only ID-mapped view of a layer (a mount point) for a user-namespaced pod; containers-fs/<id> is 0700' },
  { pattern: 'pods/*/hostname', mode: 0o644, why: "bind-mounted into the pod's containers, read by any of their users; pods/<id> is 0700" },
  { pattern: 'pods/*/hosts', mode: 0o644, why: "bind-mounted into the pod's containers, read by any of their users; pods/<id> is 0700" },
  { pattern: 'pods/*/resolv.conf', mode: 0o644, why: "bind-mounted into the pod's containers, read by any of their users; pods/<id> is 0700" },
];

const RUNTIME_FILE = "conmon's and runc's pid and control files: they run with umask 022, as what they make inside containers needs";

/** Allowed in the state directory (/run/krill). */
const STATE_ALLOW: Allowance[] = [
  { pattern: '.', mode: 0o711, why: 'searchable, not listable: the runtime of a user-namespaced pod reaches its bundle through it' },
  { pattern: 'containers', mode: 0o711, why: 'searchable, not listable: the runtime of a user-namespaced pod reaches its bundle through it' },
  { pattern: 'containers/*', mode: 0o710, why: "a user-namespaced pod's bundle: searchable by the pod's remapped root group only" },
  { pattern: 'containers/*/rootfs', mode: 0o7777, stop: true, why: "the mounted root filesystem, reached only through its bundle" },
  { pattern: 'pods', mode: 0o711, why: "searchable, not listable: the runtime of a user-namespaced pod reaches its infra bundle through it" },
  { pattern: 'pods/*', mode: 0o710, why: "a user-namespaced pod's run directory: searchable by the pod's remapped root group only" },
  { pattern: 'pods/*/infra', mode: 0o710, why: "a user-namespaced pod's infra bundle: searchable by the pod's remapped root group only" },
  { pattern: 'pods/*/infra/rootfs', mode: 0o755, stop: true, why: "the infra process's / (proc, dev and catatonit's mount point), reached only through its bundle" },
  { pattern: 'krill.sock', mode: 0o660, why: 'the CRI socket: root, and a group the operator may give it' },
  { pattern: 'pods/*/shm', mode: 0o1777, stop: true, why: "the pod's /dev/shm (a tmpfs mount point); pods/<id> is 0700" },
  { pattern: 'runtime/*/*', mode: 0o711, why: "runc's and crun's own state of a container, as they make it; runtime/ is 0700" },
  ...['containers/*', 'pods/*/infra', 'exec/*'].flatMap((dir) => [
    ...['conmon.pid', 'pidfile', 'pid'].map((file) => ({ pattern: `${dir}/${file}`, mode: 0o644, why: `${RUNTIME_FILE}; ${dir} is 0700 (0710)` })),
    ...['ctl', 'winsz'].map((file) => ({ pattern: `${dir}/${file}`, mode: 0o640, why: `${RUNTIME_FILE}; ${dir} is 0700 (0710)` })),
  ]),
];

let f: ContainerFixture;
let pod: TestPod;
let usernsPod: TestPod;
let sharedPidPod: TestPod;
const containers: string[] = [];
let rootSetuid: string;
let imageSetuid: string;
let usernsContainer: string;
let exec: RemoteCommandSession | undefined;
let attach: RemoteCommandSession | undefined;
let forward: PortForwardClient | undefined;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  f = await containerFixture('hostusers', [HTTPD, SETUID], { config: '[runtime]\nseccomp_use_default_when_empty = true\n' });
  // A node's /var/lib and /run: searchable by everyone, so only Krill's own modes stand between a user and its files.
  for (const d of [f.k.dir, join(f.k.dir, '..')]) chmodSync(d, 0o755);
  const tools = join(f.k.dir, 'tools');
  mkdirSync(tools, { mode: 0o755 });
  buildShowEuid(tools);

  pod = await f.pod();
  // Root in a container makes a setuid-root copy of a program in its writable layer.
  rootSetuid = await pod.start('root-setuid', HTTPD, {
    command: ['sh', '-c', 'cp /tools/show-euid /made-setuid && chmod 4755 /made-setuid && exec sleep 3600'],
    mounts: [{ containerPath: '/tools', hostPath: tools, readonly: true }],
    envs: [{ key: 'API_TOKEN', value: Buffer.from('secret-in-env') }],
  });
  containers.push(rootSetuid);
  await waitFor('the setuid copy', async () => (await pod.exec(rootSetuid, ['test', '-u', '/made-setuid'])).exitCode === 0);
  imageSetuid = await pod.start('image-setuid', SETUID, { command: ['sleep', '3600'] });
  containers.push(imageSetuid);
  const httpd = await pod.start('httpd', HTTPD, {});
  containers.push(httpd);

  const name = uniqueName('hostusers-userns');
  const logDir = join(f.k.dir, 'logs', name);
  mkdirSync(logDir, { recursive: true });
  // With a shared pid namespace: its infra process runs as the remapped root too.
  const config = podConfig({ name, cgroupParent: `${f.cgroupParent}/${name}`, sharePid: true }, { logDirectory: logDir });
  const hostId = 500000 + randomInt(1000) * 65536;
  const maps = [{ hostId, containerId: 0, length: 65536 }];
  const namespaceOptions = { ...config.linux!.securityContext!.namespaceOptions!, usernsOptions: { mode: NamespaceMode.POD, uids: maps, gids: maps } };
  config.linux!.securityContext!.namespaceOptions = namespaceOptions;
  const id = (await f.client.runtime.runPodSandbox(runRequest(config))).podSandboxId;
  f.adopt(id);
  usernsPod = new TestPod(f.client, id, config, logDir);
  usernsContainer = await usernsPod.start('userns', SETUID, { command: ['sleep', '3600'], linux: { securityContext: { namespaceOptions } } });
  containers.push(usernsContainer);

  sharedPidPod = await f.pod({ sharePid: true });
  containers.push(await sharedPidPod.start('shared', HTTPD, { command: ['sleep', '3600'] }));

  // Probes' ExecSync, and sessions left open while the tree is looked at.
  for (let i = 0; i < 3; i++) expect((await pod.exec(rootSetuid, ['true'])).exitCode).toBe(0);
  const execUrl = (await f.client.runtime.exec({ containerId: rootSetuid, cmd: ['sleep', '600'], tty: false, stdin: false, stdout: true, stderr: true })).url;
  exec = await spdyRemoteCommand(execUrl, { stdout: true, stderr: true });
  const attachUrl = (await f.client.runtime.attach({ containerId: httpd, tty: false, stdin: false, stdout: true, stderr: false })).url;
  attach = await spdyRemoteCommand(attachUrl, { stdout: true });
  const pfUrl = (await f.client.runtime.portForward({ podSandboxId: pod.id, port: [80] })).url;
  forward = await PortForwardClient.dial(pfUrl, 'spdy');
  await forward.connect(80);
  await waitFor('the exec session to run', async () => readdirSync(join(f.k.state, 'exec')).length > 0);
});

afterAll(async () => {
  forward?.close();
  exec?.abort();
  attach?.abort();
  await f?.cleanup();
});

describe('modes of what krilld made', () => {
  test('nothing under the root directory is open to other users but the allow-list', () => {
    expect(openModes(f.k.root, ROOT_ALLOW)).toEqual([]);
  });

  test('nothing under the state directory is open to other users but the allow-list', () => {
    expect(openModes(f.k.state, STATE_ALLOW)).toEqual([]);
  });

  test("container logs are readable by root only (kubelet)", () => {
    for (const p of [pod, usernsPod, sharedPidPod]) expect(openModes(p.logDir, [{ pattern: '.', mode: 0o755, why: "the test's (kubelet's) directory" }])).toEqual([]);
  });

  test('the database, its WAL and the exec specs are 0600', () => {
    for (const file of ['krill.db', 'krill.db-wal', 'krill.db-shm'].map((n) => join(f.k.root, n)).filter(existsSync)) {
      expect({ file, mode: (statSync(file).mode & 0o7777).toString(8) }).toEqual({ file, mode: '600' });
    }
  });

  test('the walk finds what it is meant to find (a file made world-readable is reported)', () => {
    const db = join(f.k.root, 'krill.db');
    chmodSync(db, 0o644);
    try {
      expect(openModes(f.k.root, ROOT_ALLOW)).toContainEqual({ path: 'krill.db', mode: '0644', type: 'file' });
    } finally {
      chmodSync(db, 0o600);
    }
  });
});

describe('a host user (nobody)', () => {
  test('can run programs at all (the check below is not vacuous)', () => {
    const r = asNobody(['cat', '/etc/hostname']);
    expect(r.status).toBe(0);
  });

  test('cannot read the database, an exec spec, a bundle spec or a container log', () => {
    const secrets = [
      join(f.k.root, 'krill.db'),
      ...readdirSync(join(f.k.state, 'exec')).map((n) => join(f.k.state, 'exec', n)),
      ...containers.map((id) => join(f.k.state, 'containers', id, 'config.json')),
      ...[pod, usernsPod].flatMap((p) => readdirSync(p.logDir).map((n) => join(p.logDir, n))),
    ];
    expect(secrets.length).toBeGreaterThan(containers.length);
    for (const file of secrets) {
      expect(existsSync(file)).toBe(true);
      const r = asNobody(['cat', file]);
      expect({ file, status: r.status, stdout: r.stdout }).toEqual({ file, status: 1, stdout: '' });
    }
  });

  test("cannot reach any container's files, nor run a setuid binary from one", async () => {
    const paths: string[] = [];
    for (const id of containers) {
      paths.push(join(f.k.state, 'containers', id, 'rootfs', 'etc', 'passwd'));
      paths.push(join(f.k.root, 'containers-fs', id, 'upper'));
      const pid = (await pod.client.runtime.containerStatus({ containerId: id, verbose: true })).info.info;
      paths.push(join('/proc', String((JSON.parse(pid!) as { pid: number }).pid), 'root', 'etc', 'passwd'));
    }
    for (const id of [rootSetuid, imageSetuid, usernsContainer]) {
      const binary = id === rootSetuid ? '/made-setuid' : SETUID_BINARY;
      const via = [join(f.k.state, 'containers', id, 'rootfs', binary)];
      if (id === rootSetuid) via.push(join(f.k.root, 'containers-fs', id, 'upper', binary));
      // As root the binary is there and setuid: a host user reaching it would run it as root.
      for (const p of via) expect(statSync(p).mode & 0o4000).toBe(0o4000);
      paths.push(...via);
      for (const p of via) {
        const r = asNobody([p]);
        expect({ p, ran: r.status === 0, stdout: r.stdout }).toEqual({ p, ran: false, stdout: '' });
      }
    }
    for (const layer of readdirSync(join(f.k.root, 'layers')).filter((n) => n !== 'l')) paths.push(join(f.k.root, 'layers', layer, 'diff', 'bin'));
    for (const p of paths) {
      const r = asNobody(['ls', p]);
      expect({ p, status: r.status, stdout: r.stdout }).toEqual({ p, status: 2, stdout: '' });
    }
  });

  test('cannot list the state directory or the bundles', () => {
    for (const d of [f.k.state, join(f.k.state, 'containers')]) {
      const r = asNobody(['ls', d]);
      expect({ d, status: r.status }).toEqual({ d, status: 2 });
    }
  });
});

test('the setuid binary does run setuid in its container (so a host user running it would be root)', async () => {
  const r = await pod.run('as-user', SETUID, { command: [SETUID_BINARY], linux: { securityContext: { runAsUser: { value: 1000n } } } });
  expect(r.stdout.trim()).toBe('euid=0');
});
