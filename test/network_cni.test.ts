// Pod networking with the real CNI plugins: pods reach each other, a host
// port answers on the host's loopback, a plugin that fails or hangs makes
// RunPodSandbox fail with its message and leaves nothing behind, and a CNI
// config added later is used without a restart.
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { Protocol } from '../api/runtime/v1/api';
import { grpc } from '../pkg/criclient/client';
import { pickTestNetwork, startKrilld, type Krilld, type TestNetwork } from './harness/krilld';
import { testBaseDir } from './harness/paths';
import { killAndWait, podConfig, podInfo, removeAllPods, runInNetns, runRequest, spawnInNetns, waitForListener } from './harness/pods';

/** Reads everything a TCP server at host:port sends, from the host. */
function readFromHost(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host, port });
    let data = '';
    sock.setTimeout(5000, () => sock.destroy(new Error(`no answer from ${host}:${port}`)));
    sock.on('data', (b) => (data += b.toString()));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
}

function serve(netns: string, port: number, reply: string): ReturnType<typeof spawnInNetns> {
  return spawnInNetns(netns, ['socat', `TCP-LISTEN:${port},reuseaddr,fork`, `SYSTEM:echo ${reply}`]);
}

describe('the embedded default network', () => {
  let k: Krilld;
  const ids: string[] = [];
  beforeAll(async () => {
    k = await startKrilld();
  });
  afterAll(async () => {
    for (const id of ids) {
      await k.client.runtime.stopPodSandbox({ podSandboxId: id });
      await k.client.runtime.removePodSandbox({ podSandboxId: id });
    }
    await removeAllPods(k.client);
    await k.cleanup();
  });

  test('two pods get IPs, and one reaches a TCP port served in the other', async () => {
    const a = (await k.client.runtime.runPodSandbox(runRequest(podConfig()))).podSandboxId;
    ids.push(a);
    const b = (await k.client.runtime.runPodSandbox(runRequest(podConfig()))).podSandboxId;
    ids.push(b);
    const [ia, ib] = await Promise.all([podInfo(k.client, a), podInfo(k.client, b)]);
    const ipA = (await k.client.runtime.podSandboxStatus({ podSandboxId: a, verbose: false })).status!.network!.ip;
    const ipB = (await k.client.runtime.podSandboxStatus({ podSandboxId: b, verbose: false })).status!.network!.ip;
    expect(ipA).not.toBe(ipB);
    const server = serve(ia.namespaces.network!, 8080, 'pong-from-a');
    try {
      await waitForListener(ia.namespaces.network!, 8080);
      const r = await runInNetns(ib.namespaces.network!, ['socat', '-T', '5', '-u', `TCP:${ipA}:8080`, '-']);
      expect(r.stdout.trim()).toBe('pong-from-a');
    } finally {
      await killAndWait(server);
    }
  });

  test('a pod with a hostPort mapping is reachable from the host through that port on 127.0.0.1', async () => {
    const hostPort = randomInt(20000, 40000);
    const id = (await k.client.runtime.runPodSandbox(runRequest(podConfig({}, {
      portMappings: [{ protocol: Protocol.TCP, containerPort: 80, hostPort, hostIp: '' }],
    })))).podSandboxId;
    ids.push(id);
    const info = await podInfo(k.client, id);
    const server = serve(info.namespaces.network!, 80, 'pong-via-hostport');
    try {
      await waitForListener(info.namespaces.network!, 80);
      expect((await readFromHost('127.0.0.1', hostPort)).trim()).toBe('pong-via-hostport');
    } finally {
      await killAndWait(server);
    }
    // the mapping goes away with the pod's network
    await k.client.runtime.stopPodSandbox({ podSandboxId: id });
    expect(execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' })).not.toContain(`--dport ${hostPort} `);
  });
  test('bandwidth annotations put rate limits on the pod traffic both ways (the bandwidth plugin of the default network)', async () => {
    const id = (await k.client.runtime.runPodSandbox(runRequest(podConfig({}, {
      annotations: { 'kubernetes.io/ingress-bandwidth': '1M', 'kubernetes.io/egress-bandwidth': '2M' },
    })))).podSandboxId;
    ids.push(id);
    const info = await podInfo(k.client, id);
    const hostVeth = (info.cniResult as { interfaces: { name: string; sandbox?: string }[] }).interfaces.find((i) => i.name.startsWith('veth') && !i.sandbox)!.name;
    // ingress (towards the pod) is shaped on the host side of its veth
    expect(execFileSync('tc', ['qdisc', 'show', 'dev', hostVeth], { encoding: 'utf8' })).toMatch(/tbf .*rate 1Mbit/);
    // egress (from the pod) arrives on the host veth and is redirected to an ifb device that carries the limit
    const redirect = /redirect to device (\S+)\)/i.exec(execFileSync('tc', ['filter', 'show', 'dev', hostVeth, 'parent', 'ffff:'], { encoding: 'utf8' }));
    expect(redirect).not.toBeNull();
    expect(execFileSync('tc', ['qdisc', 'show', 'dev', redirect![1]!], { encoding: 'utf8' })).toMatch(/tbf .*rate 2Mbit/);
    await expect(k.client.runtime.runPodSandbox(runRequest(podConfig({}, { annotations: { 'kubernetes.io/ingress-bandwidth': 'fast' } })))).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });
});

describe('CNI configs from the conf dir', () => {
  let k: Krilld;
  let dir: string;
  let confDir: string;
  let binDir: string;
  let net: TestNetwork;
  let later: TestNetwork;

  const conflist = (name: string, n: TestNetwork, extra: object[] = []): string =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name,
      plugins: [
        { type: 'bridge', bridge: n.bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: n.subnet }]], dataDir: join(dir, 'leases') } },
        ...extra,
        { type: 'portmap', capabilities: { portMappings: true }, snat: true },
      ],
    });

  const fakePlugin = (name: string, addBody: string): void => {
    writeFileSync(join(binDir, name), `#!/bin/sh\ncat >/dev/null\nif [ "$CNI_COMMAND" = ADD ]; then\n${addBody}\nfi\nexit 0\n`);
    chmodSync(join(binDir, name), 0o755);
  };

  const leases = (): string[] => (existsSync(join(dir, 'leases')) ? readdirSync(join(dir, 'leases'), { recursive: true }).map(String).filter((f) => /^\S+\/\d+\.\d+\.\d+\.\d+$/.test(f)) : []);
  const veths = (bridge: string): string => {
    try {
      return execFileSync('ip', ['-o', 'link', 'show', 'master', bridge], { encoding: 'utf8' });
    } catch {
      return '';
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(testBaseDir(), 'cni-'));
    confDir = join(dir, 'net.d');
    binDir = join(dir, 'bin');
    mkdirSync(confDir);
    mkdirSync(binDir);
    net = pickTestNetwork(dir);
    do later = pickTestNetwork(dir);
    while (later.subnet === net.subnet);
    k = await startKrilld({
      config: `[network]\ncni_conf_dir = "${confDir}"\ncni_bin_dirs = ["${binDir}", "/usr/lib/cni"]\nplugin_timeout = "2s"\ndefault_bridge = "${net.bridge}"\ndefault_subnet = "${net.subnet}"\n`,
    });
  });
  // Each test brings the configs it needs: none depends on what another left (or on running after it).
  afterEach(() => {
    for (const f of readdirSync(confDir)) rmSync(join(confDir, f), { force: true });
  });
  afterAll(async () => {
    await removeAllPods(k.client);
    await k.cleanup();
    for (const b of [net.bridge, later.bridge]) {
      try {
        execFileSync('ip', ['link', 'del', b], { stdio: 'ignore' });
      } catch {
        // not created
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('a plugin that fails makes RunPodSandbox fail with its message, and the steps before it are undone', async () => {
    fakePlugin('krill-test-fail', `echo '{"cniVersion":"1.0.0","code":999,"msg":"the fake plugin refuses","details":"by design"}'; exit 1`);
    writeFileSync(join(confDir, '10-fail.conflist'), conflist('failing', net, [{ type: 'krill-test-fail' }]));
    const config = podConfig();
    await expect(k.client.runtime.runPodSandbox(runRequest(config))).rejects.toMatchObject({
      details: expect.stringContaining('plugin type="krill-test-fail" failed (add): the fake plugin refuses; by design'),
    });
    // the bridge plugin had succeeded: its veth and lease are gone again
    expect(veths(net.bridge)).toBe('');
    expect(leases()).toEqual([]);
    expect((await k.client.runtime.listPodSandbox({ filter: undefined })).items).toEqual([]);
    expect(readdirSync(join(k.state, 'ns'))).toEqual([]);
    expect(readdirSync(join(k.root, 'cni', 'results'))).toEqual([]);
    expect(readdirSync(join(k.root, 'pods'))).toEqual([]);
  });

  test('a plugin that hangs is killed at the plugin timeout, RunPodSandbox fails with why, and nothing is left', async () => {
    const pidFile = join(dir, 'hang.pid');
    // the pid file appears whole (rename) or not at all
    fakePlugin('krill-test-hang', `sleep 300 & echo $! > ${pidFile}.tmp; mv ${pidFile}.tmp ${pidFile}; wait`);
    writeFileSync(join(confDir, '10-fail.conflist'), conflist('hanging', net, [{ type: 'krill-test-hang' }]));
    await expect(k.client.runtime.runPodSandbox(runRequest(podConfig()))).rejects.toMatchObject({
      details: expect.stringContaining('plugin type="krill-test-hang" failed (add): timed out after 2000 ms'),
    });
    const child = Number(readFileSync(pidFile, 'utf8'));
    expect(Number.isInteger(child) && child > 1).toBe(true); // an empty file would check /proc/0
    // gone (or a zombie awaiting its reaper) within a generous deadline; a survivor fails the test
    const alive = (): boolean => existsSync(`/proc/${child}`) && !/\) Z /.test(readFileSync(`/proc/${child}/stat`, 'utf8'));
    for (const end = Date.now() + 10_000; alive() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toBe(false);
    expect(veths(net.bridge)).toBe('');
    expect(leases()).toEqual([]);
    expect((await k.client.runtime.listPodSandbox({ filter: undefined })).items).toEqual([]);
    expect(readdirSync(join(k.state, 'ns'))).toEqual([]);
  });

  test('a broken config makes NetworkReady false with the reason, and pods fail', async () => {
    writeFileSync(join(confDir, '10-fail.conflist'), '{"cniVersion":"1.0.0","name":"broken","plugins":[]}');
    const s = await k.client.runtime.status({ verbose: false });
    const cond = s.status!.conditions.find((c) => c.type === 'NetworkReady')!;
    expect(cond.status).toBe(false);
    expect(cond.reason).toBe('NetworkPluginNotReady');
    expect(cond.message).toContain('10-fail.conflist: plugins must be a non-empty array');
    await expect(k.client.runtime.runPodSandbox(runRequest(podConfig()))).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
  });

  test('a config added later is used without a restart; pods of the earlier one are torn down with it', async () => {
    expect(readdirSync(confDir)).toEqual([]);
    // empty conf dir: the embedded default on the configured bridge and subnet
    const first = (await k.client.runtime.runPodSandbox(runRequest(podConfig()))).podSandboxId;
    const ip1 = (await k.client.runtime.podSandboxStatus({ podSandboxId: first, verbose: false })).status!.network!.ip;
    expect(ip1.startsWith(net.subnet.replace(/0\/24$/, ''))).toBe(true);

    writeFileSync(join(confDir, '20-later.conflist'), conflist('later', later));
    const s = await k.client.runtime.status({ verbose: false });
    expect(s.status!.conditions.find((c) => c.type === 'NetworkReady')!.status).toBe(true);
    const second = (await k.client.runtime.runPodSandbox(runRequest(podConfig()))).podSandboxId;
    const ip2 = (await k.client.runtime.podSandboxStatus({ podSandboxId: second, verbose: false })).status!.network!.ip;
    expect(ip2.startsWith(later.subnet.replace(/0\/24$/, ''))).toBe(true);

    for (const id of [first, second]) {
      await k.client.runtime.stopPodSandbox({ podSandboxId: id });
      await k.client.runtime.removePodSandbox({ podSandboxId: id });
    }
    expect(veths(net.bridge) + veths(later.bridge)).toBe('');
    expect(leases()).toEqual([]);
    expect(readdirSync(join(k.root, 'cni', 'networks', 'krill')).filter((f) => /^\d/.test(f))).toEqual([]);
  });
});
