// The built node agent (bin/krill-agent, @kubernetes/client-node and all) as a
// process against a real kube-apiserver (test/harness/apiserver.ts) and a real
// krilld: the condition, labels and Events on its Node, the cluster config from
// its ConfigMap, an ImageCache's status by server-side apply, krilld stopped and
// started, an agent restart, and
// `krill-agent uninstall`. (jest cannot load client-node itself: it runs the agent.)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectCri } from '../pkg/criclient/client';
import { apiserverDescribe, freePort, startApiServer, type ApiServer } from './harness/apiserver';
import { startKrilld, until, type Krilld } from './harness/krilld';
import { REPO_ROOT } from './harness/paths';
import { spec, testImages } from './image_helpers';

const NS = 'krill-system';
const CM = 'krill-config';
const LIVE_CONFIG = '[image.registries."agent-test.invalid"]\ninsecure = true\n';

interface Node {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  status: { conditions?: { type: string; status: string; reason?: string; lastTransitionTime?: string }[] };
}
interface Event {
  reason: string;
  type: string;
  message: string;
  involvedObject: { kind: string; name: string };
}

apiserverDescribe('krill-agent against kube-apiserver and krilld', () => {
  let api: ApiServer;
  let k: Krilld;
  let agent: ChildProcess | undefined;
  let metrics: string;
  const agentLog: string[] = [];

  const env = () => ({
    ...process.env,
    KUBECONFIG: api.kubeconfig,
    NODE_NAME: 'n1',
    POD_NAMESPACE: NS,
    KRILL_SOCKET: k.socket,
    KRILL_DROPIN_DIR: join(k.dir, 'krill.d'),
    KRILL_AGENT_CONFIGMAP: CM,
    KRILL_AGENT_METRICS: metrics,
    KRILL_AGENT_PROBE: '1',
    KRILL_AGENT_UNINSTALL_TIMEOUT: '10',
  });
  const startAgent = () => {
    agent = spawn(join(REPO_ROOT, 'bin/krill-agent'), ['run'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout!.on('data', (d: Buffer) => agentLog.push(d.toString()));
    agent.stderr!.on('data', (d: Buffer) => agentLog.push(d.toString()));
  };
  const stopAgent = async () => {
    const a = agent;
    agent = undefined;
    if (!a || a.exitCode !== null) return;
    await new Promise<void>((r) => {
      a.once('exit', () => r());
      a.kill('SIGTERM');
    });
  };
  const node = () => api.get<Node>(['get', 'node', 'n1']);
  const condition = async () => (await node()).status.conditions?.find((c) => c.type === 'KrillRuntimeReady');
  const events = async (reason: string) => (await api.get<{ items: Event[] }>(['get', 'events', '-n', 'default'])).items.filter((e) => e.reason === reason);
  const metric = async (name: string) => {
    const text = await (await fetch(`http://${metrics}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith(name)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  };

  beforeAll(async () => {
    api = await startApiServer();
    k = await startKrilld();
    metrics = `127.0.0.1:${await freePort()}`;
    await api.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } } }));
    // What kubelet would have written: the agent must leave it as it is.
    await api.kubectl(['patch', 'node', 'n1', '--subresource=status', '--type=strategic', '-p', JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }] } })]);
    await api.kubectl(['create', 'namespace', NS]);
    await api.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CM, namespace: NS }, data: { 'krill.toml': LIVE_CONFIG } }));
    await api.kubectl(['apply', '-f', join(REPO_ROOT, 'deploy/crds/imagecaches.krill.dev.yaml')]);
    await api.kubectl(['wait', '--for=condition=Established', 'crd/imagecaches.krill.dev', '--timeout=60s']);
    startAgent();
  });

  afterAll(async () => {
    await stopAgent();
    await k?.cleanup();
    await api?.stop();
    if (process.env.KRILL_AGENT_TEST_LOG) console.log(agentLog.join(''));
  });

  test('the condition, the labels and an Event on the Node; kubelet’s condition and the other labels kept', async () => {
    await until('KrillRuntimeReady True', async () => (await condition())?.status === 'True', 60_000);
    expect((await node()).status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'KubeletReady' });
    const labels = (await node()).metadata.labels ?? {};
    expect(labels).toMatchObject({ 'kubernetes.io/hostname': 'n1', 'krill.dev/ready': 'true', 'krill.dev/handler.runc': 'true', 'krill.dev/version': expect.any(String) });
    const ev = await until('the Event', async () => (await events('KrillRuntimeReady'))[0]);
    expect(ev).toMatchObject({ type: 'Normal', involvedObject: { kind: 'Node', name: 'n1' } });
  });

  test('the cluster config applied live and its hash annotated; a refused value reported and taken out again', async () => {
    const cri = connectCri(k.socket);
    try {
      await until('hash annotated', async () => (await node()).metadata.annotations?.['krill.dev/config-hash'] === (await cri.admin.getConfig({})).hash || undefined);
      const file = join(k.dir, 'krill.d', '50-cluster.toml');
      expect(readFileSync(file, 'utf8')).toContain(LIVE_CONFIG);
      await api.kubectl(['-n', NS, 'patch', 'configmap', CM, '--type=merge', '-p', JSON.stringify({ data: { 'krill.toml': 'log_level = "loud"\n' } })]);
      const ev = await until('ConfigRejected', async () => (await events('ConfigRejected'))[0]);
      expect(ev).toMatchObject({ type: 'Warning', message: expect.stringContaining('log_level') });
      expect(readFileSync(file, 'utf8')).toContain(LIVE_CONFIG);
      await api.kubectl(['-n', NS, 'patch', 'configmap', CM, '--type=merge', '-p', JSON.stringify({ data: { 'krill.toml': LIVE_CONFIG } })]);
    } finally {
      cri.close();
    }
  });

  test('an ImageCache: pulled, pinned in krilld, reported in status by this node', async () => {
    const image = Object.values(testImages()).find((i) => i.reference.endsWith(':latest'))!;
    await api.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'krill.dev/v1alpha1', kind: 'ImageCache', metadata: { name: 'warm' }, spec: { images: [image.reference], nodeSelector: { matchLabels: { 'kubernetes.io/hostname': 'n1' } } } }));
    const status = await until('status', async () => (await api.get<{ status?: { nodes?: Record<string, unknown>[] } }>(['get', 'imagecache', 'warm'])).status?.nodes?.find((n) => n.pulled), 120_000);
    expect(status).toMatchObject({ node: 'n1', image: image.reference, digest: image.digest, error: '' });
    const cri = connectCri(k.socket);
    try {
      expect((await cri.image.imageStatus({ image: spec(image.reference), verbose: false })).image?.pinned).toBe(true);
    } finally {
      cri.close();
    }
    const managers = (await api.get<{ metadata: { managedFields: { manager: string; subresource?: string }[] } }>(['get', 'imagecache', 'warm', '--show-managed-fields'])).metadata.managedFields;
    expect(managers).toContainEqual(expect.objectContaining({ manager: 'krill-agent-n1', subresource: 'status' }));
  });

  test('krilld stopped: False and ready=false; started again: True', async () => {
    await k.stop();
    await until('False', async () => (await condition())?.status === 'False', 60_000);
    expect((await node()).metadata.labels?.['krill.dev/ready']).toBe('false');
    await k.restart();
    await until('True again', async () => (await condition())?.status === 'True', 60_000);
    expect((await events('KrillRuntimeNotReady')).length).toBe(1);
  });

  test('an agent restart flaps nothing', async () => {
    const before = await condition();
    const eventsBefore = (await api.get<{ items: Event[] }>(['get', 'events', '-n', 'default'])).items.length;
    await stopAgent();
    startAgent();
    await until('the new agent watching', async () => (await metric('krill_agent_watches').catch(() => 0)) === 3 || undefined, 60_000);
    expect((await condition())?.lastTransitionTime).toBe(before?.lastTransitionTime);
    expect((await api.get<{ items: Event[] }>(['get', 'events', '-n', 'default'])).items.length).toBe(eventsBefore);
  });

  test('uninstall: the agent cleans its Node and drop-ins; the command cleans a Node whose agent is gone', async () => {
    await api.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2', labels: { 'krill.dev/ready': 'true' }, annotations: { 'krill.dev/config-hash': 'x' } } }));
    const cmd = spawn(join(REPO_ROOT, 'bin/krill-agent'), ['uninstall'], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cmd.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => cmd.once('exit', r));
    expect(code).toBe(0);
    expect(out).toMatch(/"cleanedHere":\["n2"\]/);
    for (const name of ['n1', 'n2']) {
      const n = await api.get<Node>(['get', 'node', name]);
      expect(Object.keys(n.metadata.labels ?? {}).filter((l) => l.startsWith('krill.dev/'))).toEqual([]);
      expect(Object.keys(n.metadata.annotations ?? {}).filter((l) => l.startsWith('krill.dev/'))).toEqual([]);
      expect((n.status.conditions ?? []).filter((c) => c.type === 'KrillRuntimeReady')).toEqual([]);
    }
    expect([existsSync(join(k.dir, 'krill.d', '50-cluster.toml')), existsSync(join(k.dir, 'krill.d', '60-image-cache.toml'))]).toEqual([false, false]);
    const health = (await (await fetch(`http://${metrics}/healthz`)).json()) as { state: string };
    expect(health.state).toBe('uninstalled');
  });
});
