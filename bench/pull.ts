// pull: PullImage of a large multi-layer image (hack/test-images --large:
// ~200 MB in 5 layers of incompressible data on a busybox base) from the
// local registry, by Krill and by containerd 1.6 in the same run, each pull
// cold (the image removed before, so every layer is fetched and unpacked),
// the runtimes taking turns. Also the disk each runtime uses for the image.
//
// Standalone: node dist/bench/pull.js [--runs N] [--out DIR]
// (starts krilld and containerd on their own roots, sockets and networks and
// removes everything afterwards), or pullBench(ctx) from the suite.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ImageSpec } from '../api/runtime/v1/api';
import type { CriClient } from '../pkg/criclient/client';
import { Interrupted } from './lib/cleanup';
import type { BenchContext } from './lib/context';
import { pullImage } from './lib/cri';
import { REPO_ROOT } from './lib/krilld';
import { log } from './lib/log';
import { machineLines } from './lib/machine';
import { markdownTable, textTable, type BenchResult, type Row } from './lib/report';
import type { CriRuntime } from './lib/runtime';
import { openSession } from './lib/session';
import { summarize, type Summary } from './lib/stats';

export const PARAMS = {
  /** Cold pulls per runtime. */
  runs: 5,
  image: 'krill-test/large:latest',
};

const IMAGES_JSON = '/var/lib/krill-test/images.json';

function spec(image: string): ImageSpec {
  return { image, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: '' };
}

async function removeImage(client: CriClient, image: string): Promise<void> {
  const s = await client.image.imageStatus({ image: spec(image), verbose: false });
  if (s.image) await client.image.removeImage({ image: spec(s.image.id) });
}

/** Bytes on disk under `dir` (allocated blocks, hard links once). */
function diskBytes(dir: string): number {
  const out = execFileSync('du', ['-s', '-B1', dir], { encoding: 'utf8' });
  return Number(out.split(/\s+/)[0]);
}

/** The large image's compressed size and layer count, from hack/test-images' facts. */
function imageFacts(): { bytes: number; layers: number } | undefined {
  try {
    const facts = JSON.parse(readFileSync(IMAGES_JSON, 'utf8')) as { images: Record<string, { layers?: { size: number }[] }> };
    const layers = facts.images.large?.layers;
    return layers ? { bytes: layers.reduce((n, l) => n + l.size, 0), layers: layers.length } : undefined;
  } catch {
    return undefined;
  }
}

async function coldPull(rt: CriRuntime, image: string): Promise<number> {
  await removeImage(rt.client, image);
  const start = performance.now();
  await pullImage(rt.client, image);
  return (performance.now() - start) / 1000;
}

export async function pullBench(ctx: Pick<BenchContext, 'krill' | 'containerd' | 'registry' | 'cleanup' | 'scale'>, opts: { runs?: number; roots?: { krill: string; containerd: string } } = {}): Promise<Omit<BenchResult, 'seconds'>> {
  const image = `${ctx.registry}/${PARAMS.image}`;
  const runs = opts.runs ?? Math.max(1, Math.round(PARAMS.runs * ctx.scale));
  const rts = [ctx.krill, ctx.containerd];
  const facts = imageFacts();

  // One untimed pull each: the registry's files in the page cache, connections made.
  for (const rt of rts) {
    log(`${rt.name}: warm-up pull of ${image}`);
    await coldPull(rt, image);
  }
  const disk: Partial<Record<'krill' | 'containerd', number>> = {};
  if (opts.roots) {
    // Measured with the image present, before it is removed for the timed pulls.
    disk.krill = diskBytes(opts.roots.krill);
    disk.containerd = diskBytes(opts.roots.containerd);
  }
  const samples: Record<'krill' | 'containerd', number[]> = { krill: [], containerd: [] };
  for (let i = 0; i < runs; i++) {
    ctx.cleanup.check();
    for (const rt of i % 2 === 0 ? rts : [...rts].reverse()) {
      const s = await coldPull(rt, image);
      samples[rt.name].push(s);
      log(`${rt.name}: cold pull ${i + 1}/${runs}: ${s.toFixed(2)} s`);
    }
  }
  for (const rt of rts) await removeImage(rt.client, image).catch(() => undefined);

  const k: Summary = summarize(samples.krill);
  const c: Summary = summarize(samples.containerd);
  const rows: Row[] = [
    { metric: 'cold pull, median', unit: 's', krill: k.median, containerd: c.median, goal: 'Krill at least as fast as containerd', goalMet: k.median <= c.median },
    { metric: 'cold pull, fastest', unit: 's', krill: k.min, containerd: c.min },
    { metric: 'cold pull, slowest', unit: 's', krill: k.max, containerd: c.max },
  ];
  if (facts) {
    const mib = facts.bytes / 1024 / 1024;
    rows.push({ metric: 'throughput (compressed MiB / median s)', unit: 'MiB/s', krill: mib / k.median, containerd: mib / c.median });
  }
  if (disk.krill !== undefined && disk.containerd !== undefined) {
    rows.push({ metric: 'disk used by the runtime root with the image', unit: 'MiB', krill: disk.krill / 1024 / 1024, containerd: disk.containerd / 1024 / 1024 });
  }
  return {
    name: 'pull',
    title: `PullImage of ${PARAMS.image}${facts ? ` (${(facts.bytes / 1024 / 1024).toFixed(0)} MiB compressed, ${facts.layers} layers)` : ''}, cold`,
    params: { runs, image },
    tables: [{ title: 'PullImage from the local registry (each pull cold: image removed first)', rows }],
    details: { krill: { samples: samples.krill, summary: k }, containerd: { samples: samples.containerd, summary: c }, disk },
    notes: [
      'Both pull over plain HTTP from the same local registry; the runtimes take turns, after one untimed warm-up pull each.',
      'Krill verifies each layer in flight and keeps it only unpacked; containerd keeps the compressed blob in its content store as well as the unpacked snapshot.',
    ],
  };
}

// ---- standalone
async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let runs = PARAMS.runs;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i] === '--out') out = resolve(argv[++i] ?? '');
    else throw new Error(`unknown argument ${argv[i]} (usage: node dist/bench/pull.js [--runs N] [--out DIR])`);
  }
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs wants a positive integer');
  if (process.getuid?.() !== 0) throw new Error('the pull benchmark must run as root');
  const registry = process.env.KRILL_TEST_REGISTRY || execFileSync(join(REPO_ROOT, 'hack/registry'), ['start'], { encoding: 'utf8' }).trim().split('\n').pop()!;
  if (!imageFacts()) {
    log('building the large test image (hack/test-images --large; once)');
    execFileSync(join(REPO_ROOT, 'hack/test-images'), ['--large'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, KRILL_TEST_REGISTRY: registry } });
  }

  const session = await openSession({ name: 'pull', registry });
  let failed = false;
  let result: BenchResult | undefined;
  try {
    const { krill, containerd } = await session.startRuntimes({ pauseImage: `${registry}/krill-bench/pause:latest` });
    const start = performance.now();
    const r = await pullBench({ krill, containerd, registry, cleanup: session.cleanup, scale: 1 }, { runs, roots: session.roots });
    result = { ...r, seconds: (performance.now() - start) / 1000 };
    process.stdout.write(`\n== ${result.title} (${result.seconds.toFixed(0)} s)\n`);
    for (const t of result.tables) process.stdout.write(`${textTable(t)}\n\n`);
    for (const n of result.notes) process.stdout.write(`  - ${n}\n`);
  } catch (err) {
    failed = true;
    if (err instanceof Interrupted) log('interrupted');
    else log(`the run failed: ${(err as Error).stack ?? err}`);
  } finally {
    failed = (await session.close(failed)) || failed;
  }
  const { machine } = session;
  if (result) {
    const dir = out ?? (await mkdtemp('/tmp/krill-bench-pull-'));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'pull.json'), `${JSON.stringify({ machine, benchmark: result }, null, 2)}\n`);
    await writeFile(join(dir, 'pull.md'), [`# ${result.title}`, '', ...machineLines(machine).map((l) => `- ${l}`), '', ...result.tables.map(markdownTable), '', ...result.notes.map((n) => `- ${n}`), ''].join('\n'));
    log(`results written to ${dir}/pull.{json,md}`);
  }
  return failed ? 1 : 0;
}

if (require.main === module) {
  if (!existsSync(join(REPO_ROOT, 'bin/krilld'))) throw new Error('bin/krilld is missing');
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`fatal: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
