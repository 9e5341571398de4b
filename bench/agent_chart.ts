// agent_chart: the node agent at idle on the test bed as its chart runs it (its image, in a pod on
// Krill), installed as an operator does
// (helm install krill deploy/charts/krill -f deploy/charts/krill/values-testbed.yaml). Over a
// window with nothing changing: its RSS (sampled from /proc every 5 s), the requests it made to
// the API server by verb and resource (its own counter, krill_agent_api_requests_total, read
// before and after), the watches it holds (its gauge, and the established TCP connections to the
// API server seen in its network namespace, which do not depend on its own accounting).
// Goal (issue 12): at most 60 MiB RSS, no periodic LIST.
//
// Not part of `make bench` (it needs the test bed): `make build && hack/testbed up`, then
//   node dist/bench/agent_chart.js [--seconds 120] [--out bench/results]
// (bench/agent.ts measures the same agent run from the tree, out of cluster, beside a Node.js floor.)
// It installs the release when it is not there and uninstalls it again only if it installed it.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '../..');
const BIN = process.env.KRILL_TESTBED_BIN ?? '/var/cache/krill-testbed/bin';
const KUBECONFIG = process.env.KUBECONFIG ?? '/var/lib/krill-testbed/admin.kubeconfig';
const SOCK = 'unix:///run/krill-testbed/krill.sock';
const NS = 'krill-system';
const MiB = 2 ** 20;

function run(file: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile(file, args, { cwd: REPO, encoding: 'utf8', maxBuffer: 32 << 20, timeout: 600_000, env: { ...process.env, KUBECONFIG } }, (err, stdout, stderr) =>
      err ? rej(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`)) : res(stdout));
  });
}
const kubectl = (...a: string[]): Promise<string> => run(join(BIN, 'kubectl'), a);
const helm = (...a: string[]): Promise<string> => run(join(BIN, 'helm'), a);
const crictl = (...a: string[]): Promise<string> => run(join(BIN, 'crictl'), ['--runtime-endpoint', SOCK, ...a]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1000);
  }
}

/** Prometheus text → sample name{labels} → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Established TCP connections from the agent's network namespace to the API server's port. */
async function apiConnections(pid: number): Promise<number> {
  const out = await run('nsenter', [`--net=/proc/${pid}/ns/net`, 'ss', '-Htn', 'state', 'established', '( dport = :6443 or dport = :443 )']);
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 120) || 120;
  const outDir = args.includes('--out') ? resolve(args[args.indexOf('--out') + 1]) : join(REPO, 'bench/results');

  let installed = false;
  if (!(await helm('status', 'krill', '-n', NS).then(() => true, () => false))) {
    await helm('install', 'krill', 'deploy/charts/krill', '-f', 'deploy/charts/krill/values-testbed.yaml', '-n', NS, '--create-namespace', '--wait', '--timeout', '5m');
    installed = true;
  }
  try {
    const pod = await until('the agent pod', async () => {
      const p = JSON.parse(await kubectl('-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/component=agent', '-o', 'json')).items[0];
      return p?.status?.phase === 'Running' && p.status.podIP ? p : undefined;
    });
    const cid = (pod.status.containerStatuses[0].containerID as string).replace('krill://', '');
    const pid = Number(JSON.parse(await crictl('inspect', cid)).info.pid);
    const metricsUrl = `http://${pod.status.podIP}:9465/metrics`;
    const metrics = async (): Promise<Map<string, number>> => parseMetrics(await (await fetch(metricsUrl)).text());
    // Settle: the start-up (first lists, first patches) is not idle.
    await until('KrillRuntimeReady=True', async () =>
      (await kubectl('get', 'node', '-o', 'jsonpath={.items[0].status.conditions[?(@.type=="KrillRuntimeReady")].status}')) === 'True' ? true : undefined);
    await sleep(30_000);

    const before = await metrics();
    const rss: number[] = [];
    const conns: number[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < seconds * 1000) {
      rss.push(rssBytes(pid));
      conns.push(await apiConnections(pid));
      await sleep(5000);
    }
    const after = await metrics();
    const minutes = (Date.now() - t0) / 60_000;
    const requests: Record<string, number> = {};
    for (const [k, v] of after) {
      if (!k.startsWith('krill_agent_api_requests_total{')) continue;
      const d = v - (before.get(k) ?? 0);
      if (d > 0) requests[k.slice('krill_agent_api_requests_total'.length)] = d;
    }
    const lists = Object.entries(requests).filter(([k]) => /verb="list"/.test(k)).reduce((a, [, v]) => a + v, 0);
    const total = Object.values(requests).reduce((a, v) => a + v, 0);
    const result = {
      benchmark: 'agent_chart',
      date: new Date().toISOString(),
      windowSeconds: Math.round(minutes * 60),
      rssMiB: { max: Math.max(...rss) / MiB, median: [...rss].sort((a, b) => a - b)[Math.floor(rss.length / 2)] / MiB, samples: rss.length },
      apiRequestsPerMinute: total / minutes,
      listsInWindow: lists,
      requestsInWindow: requests,
      watchesGauge: after.get('krill_agent_watches') ?? null,
      apiServerConnections: { min: Math.min(...conns), max: Math.max(...conns) },
      goals: { rssAtMost60MiB: Math.max(...rss) / MiB <= 60, noPeriodicList: lists === 0 },
    };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'agent_chart.json'), `${JSON.stringify(result, null, 2)}\n`);
    const md = [
      `# Node agent at idle, as the chart runs it (bench/agent_chart.ts, ${result.date})`, '',
      `The chart's agent on the test bed, ${result.windowSeconds} s with nothing changing, after 30 s to settle.`, '',
      '| what | value | goal |', '| --- | --- | --- |',
      `| RSS, max of ${rss.length} samples | ${result.rssMiB.max.toFixed(1)} MiB (median ${result.rssMiB.median.toFixed(1)}) | ≤ 60 MiB: ${result.goals.rssAtMost60MiB ? 'met' : 'NOT met'} |`,
      `| API requests per minute | ${result.apiRequestsPerMinute.toFixed(2)} | |`,
      `| LIST requests in the window | ${lists} | none: ${result.goals.noPeriodicList ? 'met' : 'NOT met'} |`,
      `| watches (its gauge) | ${result.watchesGauge} | |`,
      `| TCP connections to the API server (ss in its netns) | ${conns.length ? `${result.apiServerConnections.min}–${result.apiServerConnections.max}` : '-'} | |`,
      '', 'Requests in the window by verb and resource:', '',
      ...(Object.keys(requests).length ? Object.entries(requests).map(([k, v]) => `- \`${k}\`: ${v}`) : ['- none']), '',
    ].join('\n');
    writeFileSync(join(outDir, 'agent_chart.md'), md);
    process.stdout.write(md);
  } finally {
    if (installed) await helm('uninstall', 'krill', '-n', NS, '--wait', '--timeout', '5m');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/agent_chart: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
