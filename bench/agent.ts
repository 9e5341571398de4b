// agent: the node agent at idle against a real API server: its memory (RSS,
// PSS), the watch connections it holds and the API requests it makes per
// minute (from its own krill_agent_api_requests_total), beside a floor of the
// same Node.js with the same flags running nothing. Goals (issue 12): at most
// 60 MiB RSS, no periodic LIST.
//
// Needs a cluster whose node runs krilld (the test bed):
//   KUBECONFIG=/var/lib/krill-testbed/admin.kubeconfig node dist/bench/agent.js [--minutes N] [--out DIR]
// It runs bin/krill-agent as the node's agent out of cluster (NODE_NAME: this host, or $NODE_NAME;
// KRILL_SOCKET: $KRILL_SOCKET or the test bed's), with a scratch drop-in directory and the cluster
// config off, so it leaves krilld's configuration alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from './lib/krilld';
import { log } from './lib/log';
import { cpuSeconds, memoryOf } from './lib/proc';
import { markdownTable, textTable, type Row, type Table } from './lib/report';

const MiB = 1024 * 1024;
const FLAGS = ['--max-semi-space-size=1', '--lite-mode']; // as bin/krill-agent

function parseArgs(argv: string[]): { minutes: number; out?: string } {
  const out: { minutes: number; out?: string } = { minutes: 5 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--minutes') out.minutes = Number(argv[++i]);
    else if (argv[i] === '--out') out.out = resolve(argv[++i] ?? '');
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!(out.minutes > 0)) throw new Error('--minutes wants a number > 0');
  return out;
}

async function scrape(address: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://${address}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(krill_agent_api_requests_total\{[^}]*\}|krill_agent_watches) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!process.env.KUBECONFIG) throw new Error('KUBECONFIG is not set: this benchmark needs a cluster (the test bed: /var/lib/krill-testbed/admin.kubeconfig)');
  const scratch = await mkdtemp(join(tmpdir(), 'krill-bench-agent-'));
  const address = '127.0.0.1:19466';
  const node = join(REPO_ROOT, 'node_modules/.bin/node');
  const agent = spawn(join(REPO_ROOT, 'bin/krill-agent'), ['run'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      NODE_NAME: process.env.NODE_NAME ?? hostname(),
      POD_NAMESPACE: process.env.POD_NAMESPACE ?? 'kube-system',
      KRILL_SOCKET: process.env.KRILL_SOCKET ?? '/run/krill-testbed/krill.sock',
      KRILL_DROPIN_DIR: join(scratch, 'krill.d'),
      KRILL_AGENT_CONFIGMAP: '',
      KRILL_AGENT_METRICS: address,
    },
  });
  const floor = spawn(node, [...FLAGS, '-e', 'setInterval(() => {}, 1 << 30)'], { stdio: 'ignore' });
  try {
    await until('the agent watching', async () => ((await scrape(address)).get('krill_agent_watches') ?? 0) >= 2 || undefined, 60_000);
    // Settled: the first LISTs and writes are done; count from here.
    await new Promise((r) => setTimeout(r, 30_000));
    const before = await scrape(address);
    const cpuBefore = cpuSeconds(agent.pid!) ?? 0;
    let maxRss = 0;
    const samples: number[] = [];
    const end = Date.now() + args.minutes * 60_000;
    while (Date.now() < end) {
      const m = memoryOf(agent.pid!);
      if (m) {
        samples.push(m.rss);
        maxRss = Math.max(maxRss, m.rss);
      }
      await new Promise((r) => setTimeout(r, 5000));
    }
    const after = await scrape(address);
    const cpu = (cpuSeconds(agent.pid!) ?? 0) - cpuBefore;
    const mem = memoryOf(agent.pid!)!;
    const floorMem = memoryOf(floor.pid!)!;
    const perMinute = (key: string) => ((after.get(key) ?? 0) - (before.get(key) ?? 0)) / args.minutes;
    const requestKeys = [...after.keys()].filter((k) => k.startsWith('krill_agent_api_requests_total'));
    const rows: Row[] = [
      { metric: 'RSS at the end', unit: 'MiB', krill: mem.rss / MiB, floor: floorMem.rss / MiB, goal: '≤ 60 MiB', goalMet: mem.rss <= 60 * MiB },
      { metric: 'RSS, highest sample', unit: 'MiB', krill: maxRss / MiB },
      { metric: 'PSS at the end', unit: 'MiB', krill: mem.pss / MiB, floor: floorMem.pss / MiB },
      { metric: 'watch connections', unit: 'count', krill: after.get('krill_agent_watches') ?? 0 },
      { metric: 'API requests per minute (all)', unit: 'count', krill: requestKeys.reduce((s, k) => s + perMinute(k), 0) },
      { metric: 'LIST requests per minute', unit: 'count', krill: requestKeys.filter((k) => k.includes('verb="list"')).reduce((s, k) => s + perMinute(k), 0), goal: 'no periodic LIST (0)', goalMet: requestKeys.filter((k) => k.includes('verb="list"')).every((k) => perMinute(k) === 0) },
      ...requestKeys.map((k) => ({ metric: `  ${k.replace('krill_agent_api_requests_total', '')} per minute`, unit: 'count' as const, krill: perMinute(k) })),
      { metric: 'CPU while idle', unit: '% of a core', krill: (100 * cpu) / (args.minutes * 60) },
    ];
    const table: Table = { title: `krill-agent at idle, ${args.minutes} min (floor: the same Node.js and flags running nothing)`, rows, labels: { krill: 'agent' } };
    process.stdout.write(`${textTable(table)}\n`);
    if (args.out) {
      await mkdir(args.out, { recursive: true });
      await writeFile(join(args.out, 'agent.md'), `${markdownTable(table)}\n`);
      await writeFile(join(args.out, 'agent.json'), `${JSON.stringify({ minutes: args.minutes, rows, rssSamples: samples }, null, 2)}\n`);
    }
  } finally {
    await stop(agent);
    await stop(floor);
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  log(`agent bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
