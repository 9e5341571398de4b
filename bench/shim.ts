// shim: what the CRI socket's :authority shim costs. The same CRI handlers
// are served twice in one child process: by Krill's CriServer (its own
// listener, every client byte through the shim's HTTP/2 frame and HPACK
// tracking, into grpc-js by connection injection) and by grpc-js's own unix
// listener (bindAsync, as Krill served before). Clients on one connection
// each take turns call by call: Version (the smallest call) and ListContainers
// of kubelet-shaped containers (large replies: the server-to-client path),
// then Version throughput with many calls in flight. A third client sends
// the socket path as :authority, so that the shim rewrites every request.
//
// Runs in the suite (hack/run-bench shim) or alone, without root or runtimes:
//   node dist/bench/shim.js [--quick] [--out DIR]
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ListContainersResponse } from '../api/runtime/v1/api';
import { connectCri, type CriClient } from '../pkg/criclient/client';
import { kubeletContainer } from './lib/kubelet_container';
import { REPO_ROOT } from './lib/krilld';
import { log } from './lib/log';
import { cpuSeconds } from './lib/proc';
import { runPool } from './lib/pool';
import { latencyRows, markdownTable, textTable, type BenchResult, type Row, type Table } from './lib/report';
import { SIZE_LABEL } from './lib/shim_server';
import { summarize, type Summary } from './lib/stats';

export const PARAMS = {
  versionCalls: 2000,
  /** ListContainers reply sizes, in containers. */
  listSizes: [500, 2500],
  listCalls: 100,
  warmup: 50,
  /** Version calls in flight at once on one connection. */
  concurrency: 16,
  concurrentCalls: 8000,
  rounds: 4,
};

const VARIANTS = ['bind', 'shim', 'shimPath'] as const;
type Variant = (typeof VARIANTS)[number];

export interface ShimBenchOptions {
  /** Multiplies the call counts (1 = the published counts). */
  scale: number;
  /** Throws when the run is being interrupted. */
  check?: () => void;
}

interface Servers {
  pid: number;
  shim: string;
  bind: string;
  stop(): Promise<void>;
}

async function startServers(dir: string): Promise<Servers> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/bench/lib/shim_server.js'), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the benchmark's servers exited (${code}) before listening`)));
  });
  const { shim, bind } = JSON.parse(line) as { shim: string; bind: string };
  return {
    pid: child.pid!,
    shim,
    bind,
    stop: async () => {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const scaled = (n: number, scale: number, min: number): number => Math.max(min, Math.round(n * scale));

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** `calls` calls per variant, the variants taking turns call by call in a rotating order. */
async function inTurns(clients: Record<Variant, CriClient>, calls: number, warmup: number, call: (c: CriClient) => Promise<unknown>, check: () => void): Promise<Record<Variant, Summary>> {
  const samples: Record<Variant, number[]> = { bind: [], shim: [], shimPath: [] };
  for (const v of VARIANTS) for (let i = 0; i < warmup; i++) await call(clients[v]);
  for (let i = 0; i < calls; i++) {
    check();
    for (let j = 0; j < VARIANTS.length; j++) {
      const v = VARIANTS[(i + j) % VARIANTS.length]!;
      samples[v].push(await timed(() => call(clients[v])));
    }
  }
  return { bind: summarize(samples.bind), shim: summarize(samples.shim), shimPath: summarize(samples.shimPath) };
}

interface Throughput {
  callsPerSecond: number;
  /** The servers' process CPU time per call, in ms (user + system; they serve one listener at a time). */
  serverCpuMs: number;
}

/**
 * Version calls with `concurrency` in flight on each variant's one
 * connection, in alternating rounds: calls per second, and the server
 * process's CPU time per call (steadier than latency on a busy machine).
 */
async function throughput(clients: Record<Variant, CriClient>, serverPid: number, calls: number, concurrency: number, rounds: number, check: () => void): Promise<Record<Variant, Throughput>> {
  const ms: Record<Variant, number> = { bind: 0, shim: 0, shimPath: 0 };
  const cpu: Record<Variant, number> = { bind: 0, shim: 0, shimPath: 0 };
  const per = Math.max(1, Math.round(calls / rounds));
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < VARIANTS.length; j++) {
      check();
      const v = VARIANTS[(r + j) % VARIANTS.length]!;
      const cpuBefore = cpuSeconds(serverPid) ?? NaN;
      ms[v] += await timed(() => runPool({ count: per, workers: concurrency, makeWorker: () => clients[v], job: (c) => c.runtime.version({ version: '' }) }));
      cpu[v] += (cpuSeconds(serverPid) ?? NaN) - cpuBefore;
    }
  }
  const of = (v: Variant): Throughput => ({ callsPerSecond: (per * rounds) / (ms[v] / 1000), serverCpuMs: (cpu[v] * 1000) / (per * rounds) });
  return { bind: of('bind'), shim: of('shim'), shimPath: of('shimPath') };
}

export async function shimBench(opts: ShimBenchOptions): Promise<Omit<BenchResult, 'seconds'>> {
  const check = opts.check ?? (() => undefined);
  const p = {
    versionCalls: scaled(PARAMS.versionCalls, opts.scale, 50),
    listCalls: scaled(PARAMS.listCalls, opts.scale, 10),
    warmup: scaled(PARAMS.warmup, opts.scale, 5),
    concurrentCalls: scaled(PARAMS.concurrentCalls, opts.scale, 200),
  };
  const dir = await mkdtemp('/tmp/krill-bench-shim-');
  const servers = await startServers(dir);
  const clients: Record<Variant, CriClient> = {
    bind: connectCri(servers.bind),
    shim: connectCri(servers.shim),
    shimPath: connectCri(servers.shim, { authority: servers.shim }),
  };
  try {
    log(`shim: Version, ${p.versionCalls} calls per listener`);
    const version = await inTurns(clients, p.versionCalls, p.warmup, (c) => c.runtime.version({ version: '' }), check);
    const lists: { size: number; bytes: number; s: Record<Variant, Summary> }[] = [];
    for (const size of PARAMS.listSizes) {
      log(`shim: ListContainers of ${size}, ${p.listCalls} calls per listener`);
      const call = async (c: CriClient): Promise<void> => {
        const r = await c.runtime.listContainers({ filter: { id: '', state: undefined, podSandboxId: '', labelSelector: { [SIZE_LABEL]: String(size) } } });
        if (r.containers.length !== size) throw new Error(`ListContainers returned ${r.containers.length} containers, expected ${size}`);
      };
      const bytes = ListContainersResponse.encode({ containers: Array.from({ length: size }, (_, i) => kubeletContainer(i)) }).finish().length;
      lists.push({ size, bytes, s: await inTurns(clients, p.listCalls, Math.min(p.warmup, 10), call, check) });
    }
    log(`shim: Version throughput, ${p.concurrentCalls} calls per listener, ${PARAMS.concurrency} in flight`);
    const rates = await throughput(clients, servers.pid, p.concurrentCalls, PARAMS.concurrency, PARAMS.rounds, check);

    const table = (variant: 'shim' | 'shimPath', title: string, label: string): Table => {
      const rows: Row[] = [...latencyRows('Version', version[variant], version.bind)];
      for (const l of lists) rows.push(...latencyRows(`ListContainers, ${l.size} containers (${(l.bytes / 1024 / 1024).toFixed(1)} MiB)`, l.s[variant], l.s.bind));
      rows.push({ metric: `Version throughput, ${PARAMS.concurrency} calls in flight`, unit: 'calls/s', krill: rates[variant].callsPerSecond, containerd: rates.bind.callsPerSecond });
      rows.push({ metric: `server CPU per Version call, ${PARAMS.concurrency} in flight`, unit: 'ms', krill: rates[variant].serverCpuMs, containerd: rates.bind.serverCpuMs });
      return { title, labels: { krill: label, containerd: 'bindAsync' }, rows };
    };
    return {
      name: 'shim',
      title: 'The CRI socket\'s :authority shim against grpc-js\'s own listener',
      params: { ...p, listSizes: PARAMS.listSizes.join('/'), concurrency: PARAMS.concurrency, rounds: PARAMS.rounds },
      tables: [
        table('shim', 'Client sends "localhost" (grpc-go ≥ 1.57 or a unix:// target, grpc-js): the shim tracks HPACK, changes nothing', 'shim'),
        table('shimPath', 'Client sends the socket path (grpc-go < 1.57 dialed with a bare path: kubelet ≤ 1.23, agents): the shim rewrites every request (bindAsync refuses it; shown with "localhost")', 'shim, path'),
      ],
      details: { version, lists, rates },
      notes: [
        'Both servers run in one child process with the same handlers and message limits; each client has one connection; calls alternate between the listeners call by call.',
        'Ratios are shim ÷ bindAsync: what going through the shim costs per call, on top of the handler.',
      ],
    };
  } finally {
    for (const c of Object.values(clients)) c.close();
    await servers.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- standalone
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let scale = 1;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') scale = 0.1;
    else if (argv[i] === '--out') out = resolve(argv[++i] ?? '');
    else throw new Error(`unknown argument ${argv[i]} (usage: node dist/bench/shim.js [--quick] [--out DIR])`);
  }
  const start = performance.now();
  const r = await shimBench({ scale });
  const result: BenchResult = { ...r, seconds: (performance.now() - start) / 1000 };
  result.notes.push(`Load average (1/5/15 min) at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}.`);
  process.stdout.write(`\n== ${result.title} (${result.seconds.toFixed(0)} s)\n`);
  for (const t of result.tables) process.stdout.write(`${textTable(t)}\n\n`);
  for (const n of result.notes) process.stdout.write(`  - ${n}\n`);
  if (out) {
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'shim.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(join(out, 'shim.md'), [`# ${result.title}`, '', ...result.tables.map(markdownTable), '', ...result.notes.map((n) => `- ${n}`), ''].join('\n'));
    log(`results written to ${out}/shim.{json,md}`);
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      log(`fatal: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
