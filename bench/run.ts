// The benchmark suite's entry point (hack/run-bench runs it): starts krilld
// and containerd on their own roots, sockets and networks, prepares the floor,
// runs the benchmarks, prints their tables, writes bench/results/, and cleans
// everything up — also on an error or Ctrl-C.
//
// Usage: node dist/bench/run.js [benchmark...] [--quick] [--out DIR] [--krilld-debug] [--cpu-prof DIR]
//   benchmark   lifecycle, exec, density, list, churn, pull, stats, shim (default: these, in that order),
//               metrics (only when named: it takes 8-9 minutes)
//   --quick     a tenth of the sizes, for trying the suite out; results go to a temp dir
//   --out DIR   where results.json and results.md go (default: bench/results for a
//               full run, a temp dir otherwise)
//   --krilld-debug      krilld logs at debug level (per-step timestamps; slower)
//   --cpu-prof DIR      krilld writes a V8 CPU profile to DIR when it stops
//   --keep-logs         keep the daemons' logs (kept anyway when something failed)
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { densityBench } from './density';
import { execBench } from './exec';
import { lifecycleBench } from './lifecycle';
import { churnBench } from './churn';
import { listBench } from './list';
import { metricsBench } from './metrics';
import { pullBench } from './pull';
import { statsBench } from './stats';
import { shimBench } from './shim';
import { Interrupted } from './lib/cleanup';
import type { BenchContext } from './lib/context';
import { pullImage } from './lib/cri';
import { Floor } from './lib/floor';
import { REPO_ROOT } from './lib/krilld';
import { log } from './lib/log';
import { machineLines, type Machine } from './lib/machine';
import { markdownTable, textTable, type BenchResult } from './lib/report';
import { removeEverything } from './lib/runtime';
import { openSession } from './lib/session';

type Bench = (ctx: BenchContext) => Promise<Omit<BenchResult, 'seconds'>>;

const BENCHMARKS: Record<string, Bench> = {
  lifecycle: lifecycleBench,
  exec: execBench,
  density: densityBench,
  list: listBench,
  churn: churnBench,
  pull: (ctx) => pullBench(ctx, { roots: ctx.roots }),
  stats: statsBench,
  metrics: metricsBench,
  shim: (ctx) => shimBench({ scale: ctx.scale, check: () => ctx.cleanup.check() }),
};

/** What a run without names runs; the others only when named. */
const DEFAULT_BENCHMARKS = Object.keys(BENCHMARKS).filter((n) => n !== 'metrics');

interface Args {
  names: string[];
  quick: boolean;
  out?: string;
  krilldDebug: boolean;
  keepLogs: boolean;
  cpuProf?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { names: [], quick: false, krilldDebug: false, keepLogs: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--krilld-debug') args.krilldDebug = true;
    else if (a === '--keep-logs') args.keepLogs = true;
    else if (a === '--out') args.out = resolve(argv[++i] ?? '');
    else if (a === '--cpu-prof') args.cpuProf = resolve(argv[++i] ?? '');
    else if (a in BENCHMARKS) args.names.push(a);
    else throw new Error(`unknown argument ${a} (benchmarks: ${Object.keys(BENCHMARKS).join(', ')})`);
  }
  if (args.names.length === 0) args.names = DEFAULT_BENCHMARKS;
  return args;
}

function env(name: string, fallback: string): string {
  return process.env[name] || fallback;
}

const GOALS = [
  'lifecycle median at or below containerd\'s and within 1.5× of the runc floor',
  'at 100 pods, Krill\'s total memory (krilld + conmons) below containerd\'s (containerd + shims + pause)',
  'List and status calls at or below containerd at every size up to 500 pods (2,500 containers); status calls ≤ 1 ms p50; krilld serving every pod ≤ 2 s after a restart with 500 pods',
  'krilld ≤ 80 MiB idle (also after the churn) and ≤ 100 MiB during it',
  'ExecSync median at or below containerd\'s',
  'cold PullImage of many-files (~18 000 small files) at most 0.7× containerd\'s and 1.3× the serial curl | tar floor; of the large image at least as fast as containerd',
];

function markdown(machine: Machine, results: BenchResult[], args: Args): string {
  const out = ['# Krill benchmark results', '', ...machineLines(machine).map((l) => `- ${l}`), `- run: \`make bench\`${args.quick ? ' --quick (a tenth of the sizes)' : ''}; benchmarks: ${results.map((r) => r.name).join(', ')}`, ''];
  out.push('Ratios are Krill ÷ reference: below 1× Krill is faster or smaller. Goals are shown next to the numbers; they are not pass/fail.', '');
  for (const r of results) {
    out.push(`## ${r.title}`, '', `Parameters: ${Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(', ')}; took ${r.seconds.toFixed(0)} s.`, '');
    if (r.error) out.push(`**Did not finish:** ${r.error}`, '');
    for (const t of r.tables) out.push(markdownTable(t), '');
    for (const n of r.notes) out.push(`- ${n}`);
    if (r.notes.length) out.push('');
  }
  out.push('## Goals', '', ...GOALS.map((g) => `- ${g}`), '');
  return out.join('\n');
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const registry = env('KRILL_TEST_REGISTRY', '127.0.0.1:5055');
  const images = {
    busybox: env('KRILL_BENCH_BUSYBOX', `${registry}/krill-test/compress-gzip:latest`),
    pause: env('KRILL_BENCH_PAUSE', `${registry}/krill-bench/pause:latest`),
  };
  const session = await openSession({ registry });
  const { cleanup } = session;
  const results: BenchResult[] = [];
  let failed = false;
  try {
    const { krill, containerd } = await session.startRuntimes({
      pauseImage: images.pause,
      ...(args.krilldDebug ? { krilldArgs: ['--log-level', 'debug'] } : {}),
      ...(args.cpuProf ? { krilldNodeOptions: `--cpu-prof --cpu-prof-dir=${args.cpuProf}` } : {}),
    });
    for (const rt of [krill, containerd]) {
      for (const image of rt.name === 'containerd' ? [images.busybox, images.pause] : [images.busybox]) {
        log(`${rt.name}: pulling ${image}`);
        await pullImage(rt.client, image);
      }
    }
    const floor = await Floor.prepare({ dir: join(session.base, 'floor'), registry, image: images.busybox, network: session.network('f'), cgroupRoot: session.cgroupRoot, cleanup });
    const ctx: BenchContext = { krill, containerd, floor, images, registry, cleanup, scale: args.quick ? 0.1 : 1, roots: session.roots };

    for (const name of args.names) {
      cleanup.check();
      log(`== ${name}`);
      const start = performance.now();
      try {
        const r = await BENCHMARKS[name]!(ctx);
        results.push({ ...r, seconds: (performance.now() - start) / 1000 });
        const last = results[results.length - 1]!;
        process.stdout.write(`\n== ${last.title} (${last.seconds.toFixed(0)} s)\n`);
        for (const t of last.tables) process.stdout.write(`${textTable(t)}\n\n`);
        for (const n of last.notes) process.stdout.write(`  - ${n}\n`);
      } catch (err) {
        if (err instanceof Interrupted) throw err;
        failed = true;
        log(`${name} failed: ${(err as Error).stack ?? err}`);
        results.push({ name, title: name, params: {}, tables: [], details: {}, notes: [], error: (err as Error).message, seconds: (performance.now() - start) / 1000 });
        // Whatever it left is removed before the next benchmark measures.
        for (const rt of [krill, containerd]) await removeEverything(rt.name, rt.client).catch(() => undefined);
      }
    }
  } catch (err) {
    failed = true;
    if (err instanceof Interrupted) log('interrupted');
    else log(`the run failed: ${(err as Error).stack ?? err}`);
  } finally {
    failed = (await session.close(failed, args.keepLogs)) || failed;
  }

  if (results.length > 0) {
    const full = !args.quick && DEFAULT_BENCHMARKS.every((n) => args.names.includes(n));
    const outDir = args.out ?? (full ? join(REPO_ROOT, 'bench', 'results') : await mkdtemp('/tmp/krill-bench-results-'));
    await mkdir(outDir, { recursive: true });
    const json = { machine: session.machine, quick: args.quick, goals: GOALS, benchmarks: results };
    await writeFile(join(outDir, 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
    await writeFile(join(outDir, 'results.md'), markdown(session.machine, results, args));
    log(`results written to ${outDir}/results.{json,md}`);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`fatal: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
