// The agent's controllers together, on an in-memory API and krilld and a manual clock.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log/logger';
import { Agent } from './agent';
import { parseAgentEnv } from './env';
import { AgentMetrics } from './metrics';
import { FakeClock, FakeKube, FakeRuntime, readyStatus, settle } from './testing/fakes';
import { runUninstall } from './uninstall_command';

const NS = 'krill-system';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'krill-agent-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function setup(extra: Record<string, string> = {}, kube = new FakeKube('n1')) {
  const env = parseAgentEnv({ NODE_NAME: 'n1', POD_NAMESPACE: NS, KRILL_DROPIN_DIR: dir, KRILL_AGENT_CONFIGMAP: 'krill-config', ...extra });
  const runtime = new FakeRuntime();
  const clock = new FakeClock();
  const metrics = new AgentMetrics();
  const agent = new Agent({ env, kube, runtime, host: { cgroup: 'v1', seccomp: true }, clock, metrics, log: silentLogger() });
  return { env, kube, runtime, clock, metrics, agent };
}

const condition = (kube: FakeKube) => kube.node.status?.conditions?.find((c) => c.type === 'KrillRuntimeReady');
const labels = (kube: FakeKube) => Object.fromEntries(Object.entries(kube.node.metadata?.labels ?? {}).filter(([k]) => k.startsWith('krill.dev/')));

test('start: the condition True, the feature labels, one Event; kubelet’s conditions untouched', async () => {
  const { kube, agent } = setup();
  await agent.start();
  await settle();
  expect(condition(kube)).toMatchObject({ status: 'True', reason: 'KrillReady' });
  expect(kube.node.status?.conditions?.find((c) => c.type === 'Ready')).toEqual({ type: 'Ready', status: 'True' });
  expect(labels(kube)).toEqual({
    'krill.dev/ready': 'true',
    'krill.dev/version': '0.1.0',
    'krill.dev/userns': 'true',
    'krill.dev/rro-mounts': 'true',
    'krill.dev/cgroup': 'v1',
    'krill.dev/seccomp': 'true',
    'krill.dev/handler.runc': 'true',
    'krill.dev/handler.crun': 'true',
  });
  expect(kube.events.map((e) => e.reason)).toEqual(['KrillRuntimeReady']);
  expect(kube.calls[0]).toBe('get node n1'); // read before the first write
  await agent.stop();
});

test('an agent restart does not flap the condition: no write within the heartbeat, no Event', async () => {
  const first = setup();
  await first.agent.start();
  await settle();
  await first.agent.stop();
  const second = setup({}, first.kube);
  first.kube.calls.length = 0;
  first.kube.events.length = 0;
  second.clock.setTimeout(() => undefined, 0);
  await second.agent.start();
  await settle();
  expect(first.kube.calls.filter((c) => c.startsWith('patch'))).toEqual([]);
  expect(first.kube.events).toEqual([]);
  await second.agent.stop();
});

test('krilld down: False on the next probe, ready=false, other labels kept; back: True', async () => {
  const { kube, runtime, clock, agent } = setup();
  await agent.start();
  await settle();
  runtime.up = false;
  await clock.advance(2000);
  expect(condition(kube)).toMatchObject({ status: 'False', reason: 'RuntimeUnreachable' });
  expect(labels(kube)).toMatchObject({ 'krill.dev/ready': 'false', 'krill.dev/handler.crun': 'true', 'krill.dev/version': '0.1.0' });
  expect(kube.events.map((e) => [e.type, e.reason])).toEqual([
    ['Normal', 'KrillRuntimeReady'],
    ['Warning', 'KrillRuntimeNotReady'],
  ]);
  runtime.up = true;
  runtime.statusResponse = readyStatus(true, ['runc']);
  await clock.advance(2000);
  expect(condition(kube)).toMatchObject({ status: 'True' });
  expect(labels(kube)['krill.dev/ready']).toBe('true');
  expect(labels(kube)['krill.dev/handler.crun']).toBeUndefined(); // no longer offered: removed
  await agent.stop();
});

test('heartbeat every KRILL_AGENT_HEARTBEAT seconds, transition time kept', async () => {
  const { kube, clock, agent } = setup({ KRILL_AGENT_HEARTBEAT: '10' });
  await agent.start();
  await settle();
  const first = { ...condition(kube)! };
  kube.calls.length = 0;
  await clock.advance(8000);
  expect(kube.calls.filter((c) => c === 'patch status n1')).toEqual([]);
  await clock.advance(2000);
  expect(kube.calls.filter((c) => c === 'patch status n1')).toHaveLength(1);
  expect(condition(kube)!.lastTransitionTime).toBe(first.lastTransitionTime);
  expect(condition(kube)!.lastHeartbeatTime).not.toBe(first.lastHeartbeatTime);
  await agent.stop();
});

test('an API error on a patch is retried on the next probe', async () => {
  const { kube, clock, agent } = setup();
  kube.failPatches = 1;
  await agent.start();
  await settle();
  expect(condition(kube)).toBeUndefined();
  await clock.advance(2000);
  expect(condition(kube)).toMatchObject({ status: 'True' });
  await agent.stop();
});

describe('cluster config', () => {
  const file = () => join(dir, '50-cluster.toml');

  test('rendered into the drop-in, reloaded, the hash annotated; removed when the ConfigMap goes', async () => {
    const { kube, runtime, agent } = setup();
    kube.setConfigMap(NS, 'krill-config', { 'krill.toml': '[log]\nlevel = "debug"\n' });
    await agent.start();
    await settle();
    expect(await readFile(file(), 'utf8')).toContain('[log]\nlevel = "debug"\n');
    expect(runtime.reloads).toBe(1);
    expect(kube.node.metadata?.annotations?.['krill.dev/config-hash']).toBe('hash-1');

    kube.setConfigMap(NS, 'krill-config', { 'krill.toml': '[log]\nlevel = "warn"\n' });
    await settle();
    expect(await readFile(file(), 'utf8')).toContain('level = "warn"');
    expect(kube.node.metadata?.annotations?.['krill.dev/config-hash']).toBe('hash-2');

    kube.setConfigMap(NS, 'krill-config', undefined);
    await settle();
    expect(existsSync(file())).toBe(false);
    expect(runtime.reloads).toBe(3);
    await agent.stop();
  });

  test('a refused config: the previous file back, krilld reloaded again, a ConfigRejected Event; not retried until it changes', async () => {
    const { kube, runtime, clock, agent } = setup();
    kube.setConfigMap(NS, 'krill-config', { 'krill.toml': 'good = 1\n' });
    await agent.start();
    await settle();
    const good = await readFile(file(), 'utf8');
    runtime.validate = () => (existsSync(file()) && readFileSync(file(), 'utf8').includes('bad') ? '50-cluster.toml: unknown key "bad"' : undefined);
    kube.setConfigMap(NS, 'krill-config', { 'krill.toml': 'bad = 1\n' });
    await settle();
    expect(await readFile(file(), 'utf8')).toBe(good);
    expect(runtime.reloads).toBe(2); // the first, and the one after the restore
    expect(kube.events.filter((e) => e.reason === 'ConfigRejected')).toEqual([
      { type: 'Warning', reason: 'ConfigRejected', message: 'krilld refused the cluster config: 50-cluster.toml: unknown key "bad"' },
    ]);
    await clock.advance(60_000);
    expect(kube.events.filter((e) => e.reason === 'ConfigRejected')).toHaveLength(1);
    kube.setConfigMap(NS, 'krill-config', { 'krill.toml': 'good = 2\n' });
    await settle();
    expect(await readFile(file(), 'utf8')).toContain('good = 2');
    await agent.stop();
  });

  test('krilld unreachable: the previous file back, retried later', async () => {
    const { kube, runtime, clock, agent } = setup();
    runtime.up = false;
    kube.setConfigMap(NS, 'krill-config', { 'krill.toml': 'a = 1\n' });
    await agent.start();
    await settle();
    expect(existsSync(file())).toBe(false);
    runtime.up = true;
    await clock.advance(10_000);
    expect(await readFile(file(), 'utf8')).toContain('a = 1');
    await agent.stop();
  });

  test('needs_restart: the keys annotated and one RestartRequired Event (no restart)', async () => {
    const { kube, runtime, agent } = setup();
    runtime.needsRestart = ['root'];
    kube.setConfigMap(NS, 'krill-config', { 'krill.toml': 'root = "/x"\n' });
    await agent.start();
    await settle();
    expect(kube.node.metadata?.annotations?.['krill.dev/config-pending-restart']).toBe('root');
    expect(kube.events.filter((e) => e.reason === 'RestartRequired')).toHaveLength(1);
    await agent.stop();
  });
});

describe('image caches', () => {
  const cacheObj = (images: string[], matchLabels?: Record<string, string>) => ({
    apiVersion: 'krill.dev/v1alpha1',
    kind: 'ImageCache',
    metadata: { name: 'warm' },
    spec: { images, ...(matchLabels ? { nodeSelector: { matchLabels } } : {}) },
  });

  test('pulled, pinned through the drop-in, reported; pulled again only when the digest changed', async () => {
    const { kube, runtime, clock, agent } = setup({ KRILL_AGENT_IMAGE_RESOLVE: '60' });
    runtime.registry.set('reg/a:1', 'sha256:aaa');
    kube.cacheInf.items.set('warm', cacheObj(['reg/a:1']));
    await agent.start();
    await settle();
    expect(runtime.pulls).toEqual(['reg/a:1']);
    expect(await readFile(join(dir, '60-image-cache.toml'), 'utf8')).toContain('pinned_images = [\n  "reg/a:1",\n]');
    expect(kube.statusApplies.at(-1)).toMatchObject({ cache: 'warm', node: 'n1', entries: [{ node: 'n1', image: 'reg/a:1', digest: 'sha256:aaa', pulled: true, error: '' }] });
    const applies = kube.statusApplies.length;
    const lastPulled = (kube.statusApplies.at(-1)!.entries[0] as { lastPulled: string }).lastPulled;

    await clock.advance(60_000); // resolved again, same digest: nothing to report
    expect(runtime.pulls).toHaveLength(2);
    expect(kube.statusApplies).toHaveLength(applies);

    runtime.registry.set('reg/a:1', 'sha256:bbb');
    await clock.advance(60_000);
    expect(kube.statusApplies.at(-1)!.entries[0]).toMatchObject({ digest: 'sha256:bbb' });
    expect((kube.statusApplies.at(-1)!.entries[0] as { lastPulled: string }).lastPulled).not.toBe(lastPulled);
    await agent.stop();
  });

  test('a cache that stops selecting the node: its entries withdrawn and the images unpinned', async () => {
    const { kube, runtime, agent } = setup();
    runtime.registry.set('reg/a:1', 'sha256:aaa');
    kube.cacheInf.items.set('warm', cacheObj(['reg/a:1'], { 'kubernetes.io/hostname': 'n1' }));
    await agent.start();
    await settle();
    expect(existsSync(join(dir, '60-image-cache.toml'))).toBe(true);
    // A spec change; the status subresource keeps what the nodes reported.
    kube.cacheInf.put({ ...cacheObj(['reg/a:1'], { 'kubernetes.io/hostname': 'other' }), status: kube.cacheInf.items.get('warm')!.status });
    await settle();
    expect(kube.statusApplies.at(-1)).toEqual({ cache: 'warm', node: 'n1', entries: [] });
    expect(existsSync(join(dir, '60-image-cache.toml'))).toBe(false);
    await agent.stop();
  });

  test('an agent restart keeps what the node reported (no pull, no status write)', async () => {
    const first = setup();
    first.runtime.registry.set('reg/a:1', 'sha256:aaa');
    first.kube.cacheInf.items.set('warm', cacheObj(['reg/a:1']));
    await first.agent.start();
    await settle();
    await first.agent.stop();
    const applies = first.kube.statusApplies.length;
    const second = setup({}, first.kube);
    second.runtime.images.set('reg/a:1', first.runtime.images.get('reg/a:1')!);
    await second.agent.start();
    await settle();
    expect(second.runtime.pulls).toEqual([]);
    expect(first.kube.statusApplies).toHaveLength(applies);
    await second.agent.stop();
  });

  test('a failed pull is reported with its error and retried', async () => {
    const { kube, runtime, clock, agent } = setup();
    kube.cacheInf.items.set('warm', cacheObj(['reg/missing:1']));
    await agent.start();
    await settle();
    expect(kube.statusApplies.at(-1)!.entries[0]).toMatchObject({ pulled: false, error: 'reg/missing:1: not found' });
    runtime.registry.set('reg/missing:1', 'sha256:ccc');
    await clock.advance(30_000);
    expect(kube.statusApplies.at(-1)!.entries[0]).toMatchObject({ pulled: true, digest: 'sha256:ccc', error: '' });
    await agent.stop();
  });
});

describe('uninstall', () => {
  test('the annotation on the agent ConfigMap: drop-ins out, krilld reloaded, the Node clean, nothing written after', async () => {
    const { kube, runtime, clock, agent } = setup();
    runtime.registry.set('reg/a:1', 'sha256:aaa');
    kube.cacheInf.items.set('warm', { metadata: { name: 'warm' }, spec: { images: ['reg/a:1'] } });
    kube.setConfigMap(NS, 'krill-config', { 'krill.toml': 'a = 1\n' });
    await agent.start();
    await settle();
    expect(existsSync(join(dir, '50-cluster.toml'))).toBe(true);
    const reloads = runtime.reloads;
    await kube.annotateConfigMap(NS, 'krill-config', { 'krill.dev/uninstall': 'requested' });
    await settle();
    expect(agent.state).toBe('uninstalled');
    expect(existsSync(join(dir, '50-cluster.toml'))).toBe(false);
    expect(existsSync(join(dir, '60-image-cache.toml'))).toBe(false);
    expect(runtime.reloads).toBe(reloads + 2);
    expect(labels(kube)).toEqual({});
    expect(condition(kube)).toBeUndefined();
    expect(Object.keys(kube.node.metadata?.annotations ?? {})).toEqual([]);
    kube.calls.length = 0;
    await clock.advance(120_000);
    expect(kube.calls).toEqual([]);
    await agent.stop();
  });

  test('an agent that starts while the uninstall is under way writes nothing but the cleanup', async () => {
    const { kube, agent } = setup();
    kube.node.metadata!.labels!['krill.dev/ready'] = 'true';
    kube.setConfigMap(NS, 'krill-config', {});
    await kube.annotateConfigMap(NS, 'krill-config', { 'krill.dev/uninstall': 'requested' });
    await agent.start();
    await settle();
    expect(agent.state).toBe('uninstalled');
    expect(labels(kube)).toEqual({});
    await agent.stop();
  });

  test('the command: asks the agents, waits for them, cleans the Nodes whose agent is gone', async () => {
    const gone = { metadata: { name: 'n2', labels: { 'krill.dev/ready': 'true' }, annotations: { 'krill.dev/config-hash': 'h' } }, status: { conditions: [{ type: 'KrillRuntimeReady', status: 'True' }] } };
    const { kube, agent } = setup({}, new FakeKube('n1', [gone]));
    kube.setConfigMap(NS, 'krill-config', { 'krill.toml': '' });
    await agent.start();
    await settle();
    let t = 0;
    const result = await runUninstall(kube, { namespace: NS, configMap: 'krill-config', timeoutMs: 60_000, pollMs: 2000, now: () => t, sleep: async (ms) => { t += ms; await settle(); } }, silentLogger());
    expect(result).toEqual({ cleanedByAgents: ['n1'], cleanedHere: ['n2'] });
    expect(kube.others[0]).toEqual({ metadata: { name: 'n2', labels: {}, annotations: {} }, status: { conditions: [] } });
    expect(labels(kube)).toEqual({});
    expect(agent.state).toBe('uninstalled');
    await agent.stop();
  });

  test('the command without an agent ConfigMap cleans every Node itself at once', async () => {
    const kube = new FakeKube('n1');
    kube.node.metadata!.labels!['krill.dev/ready'] = 'true';
    const result = await runUninstall(kube, { namespace: NS, configMap: '', timeoutMs: 60_000, pollMs: 2000, now: () => 0, sleep: async () => undefined }, silentLogger());
    expect(result).toEqual({ cleanedByAgents: [], cleanedHere: ['n1'] });
    expect(labels(kube)).toEqual({});
  });
});

test('the metrics count API requests by verb and resource', async () => {
  const { agent, metrics } = setup();
  metrics.apiRequests.inc({ verb: 'get', resource: 'nodes' });
  await agent.start();
  await settle();
  const text = await metrics.registry.metrics();
  expect(text).toContain('krill_agent_api_requests_total{verb="get",resource="nodes"} 1');
  expect(text).toContain('krill_agent_runtime_ready_condition{status="True"} 1');
  expect(text).toMatch(/krill_agent_watches \d/);
  await agent.stop();
});
