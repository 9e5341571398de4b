// dial: what one port-forward connection into a pod's network namespace
// costs krilld's side. "dial" is how Krill connects now: the spawn server
// creates the socket inside the namespace and relays it (no process);
// "nsenter+socat" is how it connected before (one `nsenter --net=... socat`
// process per connection, started by the same spawn server), measured in the
// same run as the reference; "net.connect" (host loopback, no namespace) is
// the floor. The methods take turns in blocks, so that load from elsewhere
// weighs on all of them alike.
//
// Standalone (root: it makes a network namespace):
//   node dist/bench/dial.js [--connections N] [--parallel N] [--out DIR]
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { run, runChecked } from './lib/exec';
import type { Child } from '../pkg/spawn/launcher';
import { SpawnServer } from '../pkg/spawn/server';
import { helperBinary } from '../pkg/version/install';
import { REPO_ROOT } from './lib/krilld';
import { log } from './lib/log';
import { describeMachine, machineLines } from './lib/machine';
import { cpuSecondsWithChildren, descendants, sumMemory } from './lib/proc';
import { summarize, type Summary } from './lib/stats';

export const PARAMS = {
  /** Connections per method, one after another (connect, 1 KiB echoed, close). */
  connections: 300,
  /** Blocks the serial connections are split into; the methods take turns block by block. */
  blocks: 6,
  /** Connections opened at once (then the memory they hold is read), per round. */
  parallel: 50,
  parallelRounds: 3,
  payloadBytes: 1024,
};

type Method = 'dial' | 'nsenter+socat' | 'net.connect';
const METHODS: Method[] = ['dial', 'nsenter+socat', 'net.connect'];

/** Echo on 127.0.0.1:<port>; the end of input is answered with the end of output. */
const ECHO = `
  const net = require('node:net');
  const s = net.createServer({ allowHalfOpen: true }, (c) => {
    c.on('data', (d) => c.write(d));
    c.on('end', () => c.end());
    c.on('error', () => {});
  });
  s.listen(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n'));
`;

interface Setup {
  dir: string;
  netns: string;
  server: SpawnServer;
  podEcho: ChildProcess;
  hostEcho: ChildProcess;
  podPort: number;
  hostPort: number;
}

function startEcho(argv: string[]): Promise<{ proc: ChildProcess; port: number }> {
  const proc = nodeSpawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.stdout!.once('data', (b: Buffer) => resolve({ proc, port: Number(b.toString().trim()) }));
  });
}

/** The old way, as pkg/network/dial.ts had it: resolves once socat says it is connected. */
function socatConnect(server: SpawnServer, netns: string, port: number): Promise<Child> {
  const child = server.spawn('nsenter', [`--net=${netns}`, '--', 'socat', '-d', '-d', '-t', '0.5', 'STDIO', `TCP4:127.0.0.1:${port},connect-timeout=10`]);
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (stderr.includes('starting data transfer loop')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`socat exited ${code}: ${stderr}`)));
    child.once('error', reject);
  });
}

function netConnect(port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Writes `payload`, half-closes, and resolves with what came back once the other side ended. */
function echoed(input: NodeJS.WritableStream, output: NodeJS.ReadableStream, payload: Buffer): Promise<number> {
  return new Promise((resolve) => {
    let n = 0;
    output.on('data', (b: Buffer) => (n += b.length));
    output.once('end', () => resolve(n));
    input.end(payload);
  });
}

/** One connection: connect (timed alone), then the payload both ways and the close (timed with it). */
async function once(s: Setup, method: Method, payload: Buffer): Promise<{ connectMs: number; cycleMs: number }> {
  const start = performance.now();
  let back: number;
  let connectMs: number;
  if (method === 'nsenter+socat') {
    const child = await socatConnect(s.server, s.netns, s.podPort);
    connectMs = performance.now() - start;
    const closed = new Promise((r) => child.once('close', r));
    back = await echoed(child.stdin!, child.stdout!, payload);
    await closed;
  } else {
    const sock = method === 'dial' ? await s.server.dial({ netns: s.netns, address: '127.0.0.1', port: s.podPort, timeoutMs: 10_000 }) : await netConnect(s.hostPort);
    connectMs = performance.now() - start;
    const closed = new Promise((r) => sock.once('close', r));
    back = await echoed(sock, sock, payload);
    await closed;
  }
  if (back !== payload.length) throw new Error(`${method}: ${back} bytes came back, not ${payload.length}`);
  return { connectMs, cycleMs: performance.now() - start };
}

/** CPU seconds used by krilld's side: this process and the spawn server with everything it started. */
function sideCpu(s: Setup): number {
  const self = process.cpuUsage();
  return (self.user + self.system) / 1e6 + (cpuSecondsWithChildren(s.server.pid!) ?? 0);
}

interface MethodResult {
  connect: Summary;
  cycle: Summary;
  cpuMsPerConnection: number;
  parallelOpenMs: Summary;
  /** PSS of the spawn server and its children with `parallel` connections open (MiB), beyond what it holds idle. */
  parallelMiB: number;
}

async function measure(s: Setup, params: typeof PARAMS): Promise<Record<Method, MethodResult>> {
  const payload = Buffer.alloc(params.payloadBytes, 'k');
  const samples = new Map<Method, { connect: number[]; cycle: number[]; cpu: number; open: number[]; mib: number[] }>(
    METHODS.map((m) => [m, { connect: [], cycle: [], cpu: 0, open: [], mib: [] }]),
  );
  for (const m of METHODS) for (let i = 0; i < 10; i++) await once(s, m, payload); // warm-up
  const perBlock = Math.ceil(params.connections / params.blocks);
  for (let b = 0; b < params.blocks; b++) {
    for (let j = 0; j < METHODS.length; j++) {
      const m = METHODS[(b + j) % METHODS.length]!;
      const acc = samples.get(m)!;
      const cpu0 = sideCpu(s);
      for (let i = 0; i < perBlock; i++) {
        const r = await once(s, m, payload);
        acc.connect.push(r.connectMs);
        acc.cycle.push(r.cycleMs);
      }
      acc.cpu += sideCpu(s) - cpu0;
    }
    log(`dial: block ${b + 1}/${params.blocks}`);
  }
  const spawnTree = (): number[] => descendants(s.server.pid!).map((p) => p.pid);
  const idle = sumMemory(spawnTree()).pss;
  for (let r = 0; r < params.parallelRounds; r++) {
    for (let j = 0; j < METHODS.length; j++) {
      const m = METHODS[(r + j) % METHODS.length]!;
      const acc = samples.get(m)!;
      const start = performance.now();
      const open = await Promise.all(
        Array.from({ length: params.parallel }, async () => {
          if (m === 'nsenter+socat') {
            const c = await socatConnect(s.server, s.netns, s.podPort);
            return { end: () => c.stdin!.end(), closed: new Promise((res) => c.once('close', res)) };
          }
          const sock = m === 'dial' ? await s.server.dial({ netns: s.netns, address: '127.0.0.1', port: s.podPort, timeoutMs: 10_000 }) : await netConnect(s.hostPort);
          sock.resume();
          return { end: () => sock.end(), closed: new Promise((res) => sock.once('close', res)) };
        }),
      );
      acc.open.push(performance.now() - start);
      acc.mib.push((sumMemory(spawnTree()).pss - idle) / 2 ** 20);
      for (const c of open) c.end();
      await Promise.all(open.map((c) => c.closed));
    }
  }
  const out = {} as Record<Method, MethodResult>;
  for (const [m, acc] of samples) {
    out[m] = {
      connect: summarize(acc.connect),
      cycle: summarize(acc.cycle),
      cpuMsPerConnection: (acc.cpu * 1000) / acc.connect.length,
      parallelOpenMs: summarize(acc.open),
      parallelMiB: summarize(acc.mib).median,
    };
  }
  return out;
}

function table(results: Record<Method, MethodResult>, params: typeof PARAMS): string[] {
  const f = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
  const rows: [string, (r: MethodResult) => number][] = [
    ['connect, median (ms)', (r) => r.connect.median],
    ['connect, p99 (ms)', (r) => r.connect.p99],
    [`connect + ${params.payloadBytes} B echoed + close, median (ms)`, (r) => r.cycle.median],
    ['CPU per connection, krilld + spawn server + its children (ms)', (r) => r.cpuMsPerConnection],
    [`${params.parallel} connections opened at once, median (ms)`, (r) => r.parallelOpenMs.median],
    [`memory held by ${params.parallel} open connections: spawn server + children PSS (MiB)`, (r) => r.parallelMiB],
  ];
  const ratio = (a: number, b: number): string => (b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '–');
  return [
    '| metric | dial (now) | nsenter+socat (before) | net.connect (floor) | dial ÷ before |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map(([name, get]) => `| ${name} | ${f(get(results.dial))} | ${f(get(results['nsenter+socat']))} | ${f(get(results['net.connect']))} | ${ratio(get(results.dial), get(results['nsenter+socat']))} |`),
  ];
}

async function setUp(): Promise<Setup> {
  const dir = await mkdtemp('/tmp/krill-bench-dial-');
  const netns = join(dir, 'net');
  await writeFile(netns, '');
  await runChecked('unshare', [`--net=${netns}`, '--', 'ip', 'link', 'set', 'lo', 'up']);
  await writeFile(join(dir, 'echo.js'), ECHO);
  const pod = await startEcho(['nsenter', `--net=${netns}`, '--', process.execPath, join(dir, 'echo.js')]);
  const host = await startEcho([process.execPath, join(dir, 'echo.js')]);
  const server = await SpawnServer.start({ binary: helperBinary('krill-spawn') });
  return { dir, netns, server, podEcho: pod.proc, hostEcho: host.proc, podPort: pod.port, hostPort: host.port };
}

async function tearDown(s: Partial<Setup> & { dir: string }): Promise<void> {
  await s.server?.stop();
  s.podEcho?.kill('SIGKILL');
  s.hostEcho?.kill('SIGKILL');
  if (s.netns) await run('umount', [s.netns]);
  await rm(s.dir, { recursive: true, force: true });
}

async function main(): Promise<number> {
  const params = { ...PARAMS };
  let out: string | undefined;
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--connections') params.connections = Number(argv[++i]);
    else if (argv[i] === '--parallel') params.parallel = Number(argv[++i]);
    else if (argv[i] === '--out') out = resolve(argv[++i] ?? '');
    else throw new Error(`unknown argument ${argv[i]} (usage: node dist/bench/dial.js [--connections N] [--parallel N] [--out DIR])`);
  }
  if (process.getuid?.() !== 0) throw new Error('the dial benchmark must run as root (it makes a network namespace)');
  const machine = await describeMachine(REPO_ROOT);
  const s = await setUp();
  let lines: string[];
  try {
    log(`dial: ${params.connections} connections per method in ${params.blocks} blocks, then ${params.parallelRounds} × ${params.parallel} at once`);
    const results = await measure(s, params);
    lines = [
      '# Port-forward connections into a pod network namespace',
      '',
      ...machineLines({ ...machine, loadAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) }).map((l) => `- ${l}`),
      `- run: \`node dist/bench/dial.js\`; ${params.connections} serial connections per method, ${params.parallelRounds} rounds of ${params.parallel} at once`,
      '',
      ...table(results, params),
      '',
      '- dial: krill-spawn creates the socket inside the namespace (setns there and back) and relays it; nsenter+socat: one process per connection, as before; net.connect: the host loopback from Node, no namespace (the floor).',
      '- CPU counts this process (krilld\'s side) and the spawn server with its reaped children, not the echo servers.',
      '',
    ];
    if (out) {
      await mkdir(out, { recursive: true });
      await writeFile(join(out, 'dial.json'), `${JSON.stringify({ machine, params, results }, null, 2)}\n`);
      await writeFile(join(out, 'dial.md'), lines.join('\n'));
      log(`results written to ${out}/dial.{json,md}`);
    }
  } finally {
    await tearDown(s);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`fatal: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
