// pull: cold PullImage of three differently shaped images from the local
// registry, by Krill and by containerd 1.6 in the same run, against the floor:
//   many-files    a language-runtime image, ~122 MiB gzip'd in 6 layers, ~18 000
//                 small files (bench/images.sh, bench/lib/tree_plan.ts)
//   links-xattrs  3100 hard links, file capabilities, user.* xattrs (bench/images.sh)
//   large         ~200 MB in 6 layers of a few big incompressible files
//                 (hack/test-images --large)
// Each pull is cold (the image removed before, so every layer is fetched and
// unpacked). The floor is the same layers from the same registry through
// `curl | tar -x` with no runtime (bench/lib/floor_pull.ts), one layer after
// another and all at once. The four take turns, in a rotating order. Also the
// disk each runtime's root grows by with the image.
//
// Standalone: node dist/bench/pull.js [--runs N] [--images a,b] [--out DIR]
// (builds the bench images if the registry lacks them, starts krilld and
// containerd on their own roots, sockets and networks and removes everything
// afterwards), or pullBench(ctx) from the suite.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ImageSpec } from '../api/runtime/v1/api';
import type { CriClient } from '../pkg/criclient/client';
import { Interrupted } from './lib/cleanup';
import type { BenchContext } from './lib/context';
import { pullImage } from './lib/cri';
import { runChecked } from './lib/exec';
import { floorPull } from './lib/floor_pull';
import { REPO_ROOT } from './lib/krilld';
import { log } from './lib/log';
import { machineLines } from './lib/machine';
import { emptySamples, PARTICIPANTS, pullRows, roundOrder, summaries, type Participant, type PullGoals, type PullSamples } from './lib/pull_report';
import { fetchLayers, type ImageLayers } from './lib/registry_layers';
import { markdownTable, textTable, type BenchResult, type Table } from './lib/report';
import type { CriRuntime } from './lib/runtime';
import { openSession } from './lib/session';

export interface PullImage {
  name: string;
  /** repository:tag in the test registry. */
  ref: string;
  what: string;
  goals: PullGoals;
}

const IMAGES: PullImage[] = [
  { name: 'many-files', ref: 'krill-bench/many-files:latest', what: 'a language runtime image: ~18 000 small files', goals: { containerd: 0.7, floorSerial: 1.3 } },
  { name: 'links-xattrs', ref: 'krill-bench/links-xattrs:latest', what: '3100 hard links, file capabilities, user.* xattrs', goals: {} },
  { name: 'large', ref: 'krill-test/large:latest', what: 'a few large incompressible files', goals: { containerd: 1 } },
];

export const PARAMS = {
  /** Cold pulls per runtime and floor, per image. */
  runs: 5,
  images: IMAGES,
};

const IMAGES_JSON = '/var/lib/krill-test/images.json';
/** Where the floor unpacks (the runtimes' roots are below /tmp/krill-bench too: the same filesystem). */
const SCRATCH_PARENT = '/tmp/krill-bench';

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

async function coldPull(rt: CriRuntime, image: string): Promise<number> {
  await removeImage(rt.client, image);
  const start = performance.now();
  await pullImage(rt.client, image);
  return (performance.now() - start) / 1000;
}

type Ctx = Pick<BenchContext, 'krill' | 'containerd' | 'registry' | 'cleanup' | 'scale'>;

interface ImageRun {
  image: PullImage;
  layers: ImageLayers;
  samples: PullSamples;
  disk?: { krill: number; containerd: number };
}

async function benchImage(ctx: Ctx, img: PullImage, runs: number, scratch: string, roots?: { krill: string; containerd: string }): Promise<ImageRun> {
  const layers = await fetchLayers(ctx.registry, img.ref);
  const ref = `${ctx.registry}/${img.ref}`;
  const rts = [ctx.krill, ctx.containerd];
  const floor = (parallel: boolean): Promise<number> => floorPull({ registry: ctx.registry, image: layers, scratch, parallel, signal: ctx.cleanup.signal });
  const run: Record<Participant, () => Promise<number>> = {
    krill: () => coldPull(ctx.krill, ref),
    containerd: () => coldPull(ctx.containerd, ref),
    floorSerial: () => floor(false),
    floorParallel: () => floor(true),
  };

  // One untimed pull each: the registry's files in the page cache, connections
  // made; the disk each root grows by is measured around it.
  const grew: Partial<Record<'krill' | 'containerd', number>> = {};
  for (const rt of rts) {
    log(`${img.name}: ${rt.name}: warm-up pull of ${ref}`);
    await removeImage(rt.client, ref);
    const root = roots?.[rt.name];
    const before = root ? diskBytes(root) : 0;
    await pullImage(rt.client, ref);
    if (root) grew[rt.name] = diskBytes(root) - before;
  }
  log(`${img.name}: floor: warm-up`);
  await floor(false);

  const samples = emptySamples();
  for (let i = 0; i < runs; i++) {
    for (const p of roundOrder(PARTICIPANTS, i)) {
      ctx.cleanup.check();
      // Untimed: the image gone, and the page cache's dirty data (the last
      // unpack, the removal) written back, so no one pays for the one before.
      if (p === 'krill' || p === 'containerd') await removeImage(ctx[p].client, ref);
      await runChecked('sync', []);
      const s = await run[p]();
      samples[p].push(s);
      log(`${img.name}: ${p}: cold pull ${i + 1}/${runs}: ${s.toFixed(2)} s`);
    }
  }
  for (const rt of rts) await removeImage(rt.client, ref).catch(() => undefined);
  return { image: img, layers, samples, ...(grew.krill !== undefined && grew.containerd !== undefined ? { disk: { krill: grew.krill, containerd: grew.containerd } } : {}) };
}

const MiB = 1024 * 1024;

function table(r: ImageRun): Table {
  const bytes = r.layers.layers.reduce((n, l) => n + l.size, 0);
  return {
    title: `${r.image.name} (${r.image.what}; ${(bytes / MiB).toFixed(0)} MiB compressed, ${r.layers.layers.length} layers)`,
    rows: pullRows(r.samples, r.image.goals, { compressedBytes: bytes, layers: r.layers.layers.length }, r.disk),
  };
}

export async function pullBench(ctx: Ctx, opts: { runs?: number; roots?: { krill: string; containerd: string }; images?: readonly string[] } = {}): Promise<Omit<BenchResult, 'seconds'>> {
  const runs = opts.runs ?? Math.max(1, Math.round(PARAMS.runs * ctx.scale));
  const images = opts.images ? opts.images.map((n) => PARAMS.images.find((i) => i.name === n) ?? unknownImage(n)) : PARAMS.images;
  await mkdir(SCRATCH_PARENT, { recursive: true });
  const scratch = await mkdtemp(join(SCRATCH_PARENT, 'pull-floor-'));
  const dropScratch = ctx.cleanup.add('remove the pull floor\'s directory', () => rm(scratch, { recursive: true, force: true, maxRetries: 10 }));
  const done: ImageRun[] = [];
  try {
    for (const img of images) {
      ctx.cleanup.check();
      done.push(await benchImage(ctx, img, runs, scratch, opts.roots));
    }
  } finally {
    await dropScratch();
  }
  return {
    name: 'pull',
    title: `PullImage, cold, of ${images.map((i) => i.name).join(', ')}, against curl | tar`,
    params: { runs, images: images.map((i) => i.ref).join(' ') },
    tables: done.map(table),
    details: Object.fromEntries(
      done.map((r) => [r.image.name, { ref: r.image.ref, manifestDigest: r.layers.manifestDigest, layers: r.layers.layers, samples: r.samples, summaries: summaries(r.samples), disk: r.disk }]),
    ),
    notes: [
      'Each pull is cold (the image removed first, then `sync`, untimed, so that nobody pays for the writeback of the one before); after one untimed warm-up each, Krill, containerd and the two floors take turns in a rotating order. All pull over plain HTTP from the same local registry.',
      'Floor: `curl <blob> | tar -x -z` of each layer into a fresh directory (owners, modes, every xattr kept; making and removing the directories not timed): one layer after another, and all layers at once. It verifies nothing; both runtimes check every layer\'s digest.',
      'Goals (issue 16): on many-files, Krill at most 0.7× containerd and at most 1.3× the serial floor; on large, Krill at most containerd.',
      'Krill verifies each layer in flight and keeps it only unpacked; containerd keeps the compressed blob in its content store as well as the unpacked snapshot (the disk row).',
    ],
  };
}

function unknownImage(name: string): never {
  throw new Error(`no pull benchmark image ${name} (${PARAMS.images.map((i) => i.name).join(', ')})`);
}

/** Whether hack/test-images has built the large image (it says so in images.json). */
function largeBuilt(): boolean {
  try {
    const facts = JSON.parse(readFileSync(IMAGES_JSON, 'utf8')) as { images: Record<string, { layers?: unknown[] }> };
    return Boolean(facts.images.large?.layers?.length);
  } catch {
    return false;
  }
}

// ---- standalone
async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let runs = PARAMS.runs;
  let out: string | undefined;
  let images: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i] === '--out') out = resolve(argv[++i] ?? '');
    else if (argv[i] === '--images') images = (argv[++i] ?? '').split(',').filter(Boolean);
    else throw new Error(`unknown argument ${argv[i]} (usage: node dist/bench/pull.js [--runs N] [--images ${PARAMS.images.map((im) => im.name).join(',')}] [--out DIR])`);
  }
  for (const n of images ?? []) if (!PARAMS.images.some((im) => im.name === n)) unknownImage(n);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs wants a positive integer');
  if (process.getuid?.() !== 0) throw new Error('the pull benchmark must run as root');
  const registry = process.env.KRILL_TEST_REGISTRY || execFileSync(join(REPO_ROOT, 'hack/registry'), ['start'], { encoding: 'utf8' }).trim().split('\n').pop()!;
  const env = { ...process.env, KRILL_TEST_REGISTRY: registry };
  if (!largeBuilt()) {
    log('building the large test image (hack/test-images --large; once)');
    execFileSync(join(REPO_ROOT, 'hack/test-images'), ['--large'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  }
  // The bench images and the pause image (a no-op when the registry serves them already).
  const pause = execFileSync(join(REPO_ROOT, 'bench/images.sh'), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env }).trim();

  const session = await openSession({ name: 'pull', registry });
  let failed = false;
  let result: BenchResult | undefined;
  try {
    const { krill, containerd } = await session.startRuntimes({ pauseImage: pause });
    const start = performance.now();
    const r = await pullBench({ krill, containerd, registry, cleanup: session.cleanup, scale: 1 }, { runs, roots: session.roots, ...(images ? { images } : {}) });
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
