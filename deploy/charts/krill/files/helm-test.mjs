// `helm test`: every node the agent labelled krill.dev/ready=true carries the condition
// KrillRuntimeReady=True, and an agent answers /healthz through the chart's metrics Service.
// Runs in the agent's image under its ServiceAccount (nodes: list), with node's fetch.
import { readFileSync } from 'node:fs';

const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
const token = readFileSync(`${sa}/token`, 'utf8').trim();
const api = `https://${process.env.KUBERNETES_SERVICE_HOST}:${process.env.KUBERNETES_SERVICE_PORT}`;
const fail = (msg) => {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
};

const res = await fetch(`${api}/api/v1/nodes?labelSelector=${encodeURIComponent('krill.dev/ready=true')}`, {
  headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
});
if (!res.ok) fail(`listing nodes: HTTP ${res.status} ${await res.text()}`);
const nodes = (await res.json()).items;
if (nodes.length === 0) fail('no node is labelled krill.dev/ready=true');
for (const n of nodes) {
  const c = (n.status.conditions ?? []).find((x) => x.type === 'KrillRuntimeReady');
  if (c?.status !== 'True') fail(`node ${n.metadata.name}: KrillRuntimeReady is ${JSON.stringify(c ?? null)}`);
  console.log(`ok: node ${n.metadata.name}: KrillRuntimeReady=True (${c.reason}), version ${n.metadata.labels['krill.dev/version'] ?? '?'}`);
}

const healthz = process.env.AGENT_HEALTHZ;
const h = await fetch(healthz, { signal: AbortSignal.timeout(10_000) }).catch((e) => fail(`${healthz}: ${e.message}`));
if (!h.ok) fail(`${healthz}: HTTP ${h.status}`);
console.log(`ok: ${healthz} answered ${h.status}`);
