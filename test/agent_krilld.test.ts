// The node agent against a real krilld: its CRI Status probe, the cluster config
// through Admin/Reload (a refused config taken out again), image caches pulled
// and reported pinned by krilld, and the uninstall's drop-in removal. The
// Kubernetes API side is the in-memory one of pkg/agent/testing; the real API
// server is the e2e tests' part (test/e2e, the chart).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../pkg/log/logger';
import { Agent } from '../pkg/agent/agent';
import { parseAgentEnv } from '../pkg/agent/env';
import { AgentMetrics } from '../pkg/agent/metrics';
import { criRuntime } from '../pkg/agent/runtime';
import { FakeKube } from '../pkg/agent/testing/fakes';
import { realClock } from '../pkg/agent/watchdog';
import { connectCri } from '../pkg/criclient/client';
import { startKrilld, until, type Krilld } from './harness/krilld';
import { spec, testImages } from './image_helpers';

const NS = 'krill-system';
const CM = 'krill-config';
let k: Krilld;
const agents: Agent[] = [];

beforeAll(async () => {
  k = await startKrilld();
});

afterAll(async () => {
  for (const a of agents) await a.stop();
  await k?.cleanup();
});

function startAgent(kube = new FakeKube('n1')): { agent: Agent; kube: FakeKube; dropins: string } {
  const env = parseAgentEnv({ NODE_NAME: 'n1', POD_NAMESPACE: NS, KRILL_SOCKET: k.socket, KRILL_DROPIN_DIR: join(k.dir, 'krill.d'), KRILL_AGENT_CONFIGMAP: CM, KRILL_AGENT_PROBE: '0.5' });
  const agent = new Agent({ env, kube, runtime: criRuntime(connectCri(k.socket)), host: { cgroup: 'v1', seccomp: true }, clock: realClock, metrics: new AgentMetrics(), log: silentLogger() });
  agents.push(agent);
  return { agent, kube, dropins: env.dropinDir };
}

const condition = (kube: FakeKube) => kube.node.status?.conditions?.find((c) => c.type === 'KrillRuntimeReady');

test('the condition and labels from krilld’s Status and Version', async () => {
  const { agent, kube } = startAgent();
  await agent.start();
  await until('KrillRuntimeReady True', () => condition(kube)?.status === 'True');
  const labels = kube.node.metadata?.labels ?? {};
  expect(labels).toMatchObject({ 'krill.dev/ready': 'true', 'krill.dev/handler.runc': 'true', 'krill.dev/userns': expect.stringMatching(/^(true|false)$/) });
  expect(labels['krill.dev/version']).toMatch(/^[A-Za-z0-9]/);
  await agent.stop();
});

// Registries apply live (log_level would not show: the harness's --log-level flag wins over files).
const LIVE_CONFIG = '[image.registries."agent-test.invalid"]\ninsecure = true\n';

test('cluster config: applied live with its hash; a refused value is taken out again and reported', async () => {
  const { agent, kube, dropins } = startAgent();
  const cri = connectCri(k.socket);
  const before = (await cri.admin.getConfig({})).hash;
  kube.setConfigMap(NS, CM, { 'krill.toml': LIVE_CONFIG });
  await agent.start();
  try {
    await until('config hash annotated', async () => kube.node.metadata?.annotations?.['krill.dev/config-hash'] === (await cri.admin.getConfig({})).hash || undefined);
    const good = readFileSync(join(dropins, '50-cluster.toml'), 'utf8');
    expect(good).toContain(LIVE_CONFIG);
    const hash = (await cri.admin.getConfig({})).hash;
    expect(hash).not.toBe(before);

    kube.setConfigMap(NS, CM, { 'krill.toml': 'log_level = "loud"\n' });
    const event = await until('ConfigRejected', () => kube.events.find((e) => e.reason === 'ConfigRejected'));
    expect(event.message).toMatch(/log_level/);
    expect(readFileSync(join(dropins, '50-cluster.toml'), 'utf8')).toBe(good);
    expect((await cri.admin.getConfig({})).hash).toBe(hash);

    kube.setConfigMap(NS, CM, undefined);
    await until('drop-in removed', () => !existsSync(join(dropins, '50-cluster.toml')));
    await until('hash back to the files without it', async () => (await cri.admin.getConfig({})).hash === before || undefined);
    expect(kube.node.metadata?.annotations?.['krill.dev/config-hash']).toBe(before);
  } finally {
    cri.close();
    await agent.stop();
  }
});

test('an ImageCache: pulled through krilld, pinned, its digest reported; unpinned when the cache goes', async () => {
  const image = Object.values(testImages()).find((i) => i.reference.endsWith(':latest'))!;
  const { agent, kube, dropins } = startAgent();
  kube.cacheInf.items.set('warm', { metadata: { name: 'warm' }, spec: { images: [image.reference] } });
  await agent.start();
  const cri = connectCri(k.socket);
  try {
    const applied = await until('status reported', () => kube.statusApplies.find((a) => (a.entries[0] as { pulled?: boolean } | undefined)?.pulled));
    expect(applied.entries).toEqual([expect.objectContaining({ node: 'n1', image: image.reference, digest: image.digest, pulled: true, error: '' })]);
    expect((await cri.image.imageStatus({ image: spec(image.reference), verbose: false })).image?.pinned).toBe(true);
    expect(readFileSync(join(dropins, '60-image-cache.toml'), 'utf8')).toContain(JSON.stringify(image.reference));

    kube.cacheInf.remove('warm');
    await until('unpinned', async () => (await cri.image.imageStatus({ image: spec(image.reference), verbose: false })).image?.pinned === false || undefined);
    expect(existsSync(join(dropins, '60-image-cache.toml'))).toBe(false);
  } finally {
    cri.close();
    await agent.stop();
  }
});

test('uninstall: the drop-ins out and krilld reloaded without them, the Node clean', async () => {
  const image = Object.values(testImages()).find((i) => i.reference.endsWith(':latest'))!;
  const { agent, kube, dropins } = startAgent();
  kube.setConfigMap(NS, CM, { 'krill.toml': LIVE_CONFIG });
  kube.cacheInf.items.set('warm', { metadata: { name: 'warm' }, spec: { images: [image.reference] } });
  await agent.start();
  const cri = connectCri(k.socket);
  try {
    await until('pinned', async () => (await cri.image.imageStatus({ image: spec(image.reference), verbose: false })).image?.pinned || undefined);
    await until('config applied', () => existsSync(join(dropins, '50-cluster.toml')));
    await kube.annotateConfigMap(NS, CM, { 'krill.dev/uninstall': 'requested' });
    await until('uninstalled', () => agent.state === 'uninstalled');
    expect([existsSync(join(dropins, '50-cluster.toml')), existsSync(join(dropins, '60-image-cache.toml'))]).toEqual([false, false]);
    expect((await cri.image.imageStatus({ image: spec(image.reference), verbose: false })).image?.pinned).toBe(false);
    expect(Object.keys(kube.node.metadata?.labels ?? {}).filter((l) => l.startsWith('krill.dev/'))).toEqual([]);
    expect(condition(kube)).toBeUndefined();
  } finally {
    cri.close();
    await agent.stop();
  }
});

test('krilld stopped: False; started again: True', async () => {
  const { agent, kube } = startAgent();
  await agent.start();
  await until('True', () => condition(kube)?.status === 'True');
  await k.stop();
  await until('False', () => condition(kube)?.status === 'False');
  expect(condition(kube)?.reason).toBe('RuntimeUnreachable');
  expect(kube.node.metadata?.labels?.['krill.dev/ready']).toBe('false');
  await k.restart();
  await until('True again', () => condition(kube)?.status === 'True');
  expect(kube.events.map((e) => e.reason)).toEqual(['KrillRuntimeReady', 'KrillRuntimeNotReady', 'KrillRuntimeReady']);
  await agent.stop();
});
