// The spawn server (cmd/krill-spawn) with its Node side (pkg/util/spawner.ts),
// on its own: no krilld. Every child that could outlive a test names this
// run's directory in its argv, so that the leak check sees it.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import type { Duplex, Readable, Writable } from 'node:stream';
import { run, runChecked } from '../pkg/spawn/run';
import { killProcessGroup, type Child } from '../pkg/spawn/launcher';
import { SpawnServer } from '../pkg/spawn/server';
import type { DialRequest } from '../pkg/spawn/protocol';
import { helperBinary } from '../pkg/version/install';
import { testBaseDir } from './harness/paths';

const BINARY = helperBinary('krill-spawn');
let dir: string;
let server: SpawnServer;
let sleep: string;
/** Children started to outlive something: killed in afterAll whatever happens. */
const strays: number[] = [];

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  error?: Error;
}

function outcome(child: Child): Promise<Outcome> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  let error: Error | undefined;
  child.on('error', (e) => (error = e));
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err), ...(error ? { error } : {}) })),
  );
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Field `n` (1-based, as in proc(5)) of /proc/<pid>/stat. */
function statField(pid: number, n: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[n - 3]!;
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

function spawned(child: Child): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', reject);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(testBaseDir(), 'spawn-'));
  // sleep under a name in this run's directory: the leak check sees an orphaned one.
  symlinkSync('/bin/sleep', join(dir, 'sleep'));
  sleep = join(dir, 'sleep');
  server = await SpawnServer.start({ binary: BINARY });
});

afterAll(async () => {
  await server.stop();
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('spawn server', () => {
  it('runs argv with the env and cwd given, and reports the exit code', async () => {
    const child = server.spawn('sh', ['-c', 'printf "%s|%s|%s|" "$0" "$1" "$FOO"; pwd; exit 7', 'zero', 'one two'], {
      env: { FOO: 'bär', PATH: process.env.PATH },
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events: string[] = [];
    child.on('spawn', () => events.push('spawn'));
    child.on('exit', () => events.push('exit'));
    const r = await outcome(child);
    expect(r.stdout.toString()).toBe(`zero|one two|bär|${dir}\n`);
    expect(r.code).toBe(7);
    expect(r.signal).toBeNull();
    expect(events).toEqual(['spawn', 'exit']);
    expect(child.pid).toBeGreaterThan(1);
    expect(child.exitCode).toBe(7);
    expect(child.stdin).toBeNull();
  });

  it("children keep the server's umask (krilld's 077) unless they are the container runtime (022)", async () => {
    const previous = process.umask(0o077);
    const strict = await SpawnServer.start({ binary: BINARY });
    process.umask(previous);
    try {
      const umask = async (runtimeUmask: boolean) =>
        (await outcome(strict.spawn('sh', ['-c', 'umask'], { stdio: ['ignore', 'pipe', 'pipe'], runtimeUmask }))).stdout.toString().trim();
      expect(await umask(false)).toBe('0077');
      expect(await umask(true)).toBe('0022');
    } finally {
      await strict.stop();
    }
  });

  it("looks a bare name up in the child's PATH; a missing file or cwd is ENOENT, like child_process", async () => {
    writeFileSync(join(dir, 'mytool'), '#!/bin/sh\necho mytool ran\n');
    chmodSync(join(dir, 'mytool'), 0o755);
    const found = await outcome(server.spawn('mytool', [], { env: { PATH: `/nonexistent:${dir}` } }));
    expect(found.stdout.toString()).toBe('mytool ran\n');
    // No #!: run by /bin/sh, as execvp(3) does.
    writeFileSync(join(dir, 'plain'), 'echo "plain script: $0 $1"\n');
    chmodSync(join(dir, 'plain'), 0o755);
    const plain = await outcome(server.spawn(join(dir, 'plain'), ['arg']));
    expect(plain.stdout.toString()).toBe(`plain script: ${join(dir, 'plain')} arg\n`);

    const missing = server.spawn('krill-no-such-tool', ['a']);
    const m = await outcome(missing);
    expect(m.error).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'spawn krill-no-such-tool', path: 'krill-no-such-tool', spawnargs: ['a'] });
    expect(m.code).toBeNull();
    expect(missing.pid).toBeUndefined();

    const badCwd = await outcome(server.spawn('true', [], { cwd: join(dir, 'nonexistent') }));
    expect(badCwd.error).toMatchObject({ code: 'ENOENT' });
  });

  it('starts 200 children at once, each with its own output and status', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => outcome(server.spawn('sh', ['-c', 'echo "out $0"; echo "err $0" >&2; exit $(($0 % 256))', String(i)]))),
    );
    results.forEach((r, i) => {
      expect(r.stdout.toString()).toBe(`out ${i}\n`);
      expect(r.stderr.toString()).toBe(`err ${i}\n`);
      expect(r.code).toBe(i % 256);
    });
  });

  it('relays 32 MiB through stdin and back out intact, with stderr alongside', async () => {
    const input = randomBytes(32 << 20);
    const child = server.spawn('sh', ['-c', 'cat; head -c 3000000 /dev/zero >&2']);
    const done = outcome(child);
    child.stdin!.end(input);
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(input.length);
    expect(createHash('sha256').update(r.stdout).digest('hex')).toBe(createHash('sha256').update(input).digest('hex'));
    expect(r.stderr.length).toBe(3_000_000);
  });

  it('holds back a child whose reader is slow instead of buffering its output', async () => {
    const total = 256 << 20;
    const child = server.spawn('head', ['-c', String(total), '/dev/zero'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = await spawned(child);
    const stdout = child.stdout!;
    stdout.pause();
    let got = 0;
    stdout.on('data', (b: Buffer) => (got += b.length));
    // Not reading: the pipe fills and the writer blocks, with little of it anywhere in between.
    await until('the writer is blocked on a full pipe', () => statField(pid, 3) === 'S' && /pipe/.test(readFileSync(`/proc/${pid}/wchan`, 'utf8')));
    await new Promise((r) => setTimeout(r, 300));
    expect(statField(pid, 3)).toBe('S');
    expect(rssKiB(server.pid!)).toBeLessThan(16 * 1024);
    expect(stdout.readableLength).toBeLessThan(4 << 20);
    const closed = outcome(child);
    stdout.resume();
    const r = await closed;
    expect(r.code).toBe(0);
    expect(got).toBe(total);
  });

  it('gives the child EOF when its stdin is closed, and lets it talk first', async () => {
    const eofOnly = await outcome(
      (() => {
        const c = server.spawn('cat', []);
        c.stdin!.end();
        return c;
      })(),
    );
    expect(eofOnly.code).toBe(0);
    expect(eofOnly.stdout.length).toBe(0);

    const child = server.spawn('sh', ['-c', 'echo ready; read line; echo "got $line"; cat; echo eof']);
    const done = outcome(child);
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    child.stdin!.write('hello\n');
    child.stdin!.end('rest\n');
    const r = await done;
    expect(r.stdout.toString()).toBe('ready\ngot hello\nrest\neof\n');
  });

  it('serves extra fds in both directions, and gives the child no other fd', async () => {
    const child = server.spawn('sh', ['-c', 'echo ready >&3; read x <&4; echo "got $x" >&3'], { stdio: ['ignore', 'ignore', 'ignore', 'output', 'input'] });
    const fd3 = child.stdio[3] as Readable;
    const fd4 = child.stdio[4] as Writable;
    expect(child.stdin).toBeNull();
    expect(child.stdout).toBeNull();
    let text = '';
    fd3.on('data', (b: Buffer) => {
      text += b.toString();
      if (text === 'ready\n') fd4.end('hello\n');
    });
    const r = await outcome(child);
    expect(r.code).toBe(0);
    expect(text).toBe('ready\ngot hello\n');

    const fds = await outcome(server.spawn('sh', ['-c', 'ls /proc/$$/fd'], { stdio: ['ignore', 'pipe', 'ignore', 'output'] }));
    expect(fds.stdout.toString().split('\n').filter(Boolean).sort()).toEqual(['0', '1', '2', '3']);
  });

  it('fills fds 0-2 with /dev/null when fewer are given', async () => {
    const child = server.spawn(sleep, ['100'], { stdio: ['output'] });
    const pid = await spawned(child);
    const done = outcome(child);
    expect(readlinkSync(`/proc/${pid}/fd/0`)).toMatch(/^pipe:/);
    expect(readlinkSync(`/proc/${pid}/fd/1`)).toBe('/dev/null');
    expect(readlinkSync(`/proc/${pid}/fd/2`)).toBe('/dev/null');
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
  });

  it("gives the child default signal dispositions and an empty mask, whatever the server inherited", async () => {
    const wrapper = join(dir, 'spawn-ignoring');
    writeFileSync(wrapper, `#!/bin/sh\ntrap '' TERM HUP USR1 PIPE\nexec ${BINARY}\n`);
    chmodSync(wrapper, 0o755);
    const own = await SpawnServer.start({ binary: wrapper });
    try {
      const r = await outcome(own.spawn('grep', ['-E', '^Sig(Blk|Ign):', '/proc/self/status']));
      expect(r.stdout.toString()).toBe('SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n');
    } finally {
      await own.stop();
    }
  });

  it('kills a child by signal, even one asked for before its pid is known', async () => {
    const early = server.spawn(sleep, ['100']);
    expect(early.kill('SIGTERM')).toBe(true);
    const e = await outcome(early);
    expect(e.signal).toBe('SIGTERM');
    expect(e.code).toBeNull();
    expect(early.kill()).toBe(false);

    const late = server.spawn(sleep, ['100']);
    await spawned(late);
    late.kill('SIGKILL');
    expect((await outcome(late)).signal).toBe('SIGKILL');
  });

  it('starts a detached child in its own session; its process group can be killed whole', async () => {
    const child = server.spawn('sh', ['-c', '"$0" 100 & "$0" 100 & echo started; wait', sleep], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = await spawned(child);
    expect(statField(pid, 6)).toBe(String(pid)); // session
    expect(statField(pid, 5)).toBe(String(pid)); // process group
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    const group = (): number[] =>
      readdirSync('/proc')
        .filter((n) => /^\d+$/.test(n))
        .map(Number)
        .filter((p) => {
          try {
            return statField(p, 5) === String(pid) && alive(p);
          } catch {
            return false;
          }
        });
    expect(group().length).toBe(3);
    const done = outcome(child);
    killProcessGroup(child, 'SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    await until('the whole group is gone', () => group().length === 0);
  });

  it('reports EPIPE on the stdin of a child that closed it, without failing anything else', async () => {
    const child = server.spawn('sh', ['-c', 'exec 0<&-; sleep 0.2; echo done']);
    const done = outcome(child);
    const epipe = new Promise<Error>((resolve) => child.stdin!.on('error', resolve));
    child.stdin!.write(randomBytes(1 << 20));
    expect(await epipe).toMatchObject({ code: 'EPIPE' });
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('done\n');
  });

  it('serves run() and runChecked()', async () => {
    {
      const r = await run(server, 'sh', ['-c', 'cat; echo $X >&2; exit 3'], { input: 'in', env: { X: 'x', PATH: process.env.PATH } });
      expect(r).toMatchObject({ code: 3, stdout: 'in', stderr: 'x\n', timedOut: false });
      await expect(runChecked(server, 'false', [])).rejects.toThrow(/exited with code 1/);
      const t = await run(server, sleep, ['100'], { timeoutMs: 200 });
      expect(t).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    }
  });

  it('exits when krilld goes away and leaves its children running', async () => {
    const own = await SpawnServer.start({ binary: BINARY });
    const serverPid = own.pid!;
    const child = own.spawn(sleep, ['100'], { detached: true, stdio: ['ignore', 'ignore', 'ignore'] });
    const pid = await spawned(child);
    strays.push(pid);
    child.unref();
    await own.stop();
    expect(alive(serverPid)).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(pid)).toBe(true);
    expect(statField(pid, 4)).not.toBe(String(serverPid)); // re-parented
    process.kill(pid, 'SIGKILL');
    await until('the child is gone', () => !alive(pid));
  });

  it('exits on EOF from a parent that dies without stopping it', async () => {
    const raw = nodeSpawn(BINARY, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise((r) => raw.once('spawn', r));
    const exited = new Promise<number | null>((resolve) => raw.once('exit', (code) => resolve(code)));
    raw.stdin!.destroy();
    expect(await exited).toBe(0);
  });

  it('fails the calls in flight with a clear error when it dies, and starts again on the next spawn', async () => {
    const own = await SpawnServer.start({ binary: BINARY });
    const firstPid = own.pid!;
    const child = own.spawn(sleep, ['100']);
    const pid = await spawned(child);
    strays.push(pid);
    const done = outcome(child);
    process.kill(firstPid, 'SIGKILL');
    const r = await done;
    expect(r.error?.message).toMatch(/spawn server \(krill-spawn, pid \d+\) was killed by SIGKILL.*outcome of \/\S+\/sleep is unknown/);
    expect(child.exitCode).toBeNull();

    const again = await outcome(own.spawn('echo', ['back']));
    expect(again.stdout.toString()).toBe('back\n');
    expect(own.pid).not.toBe(firstPid);
    expect(own.restartCount).toBe(1);
    await own.stop();
    process.kill(pid, 'SIGKILL');
    await until('the orphan is gone', () => !alive(pid));
    expect(existsSync(`/proc/${firstPid}/stat`) && alive(firstPid)).toBe(false);
  });
});

// DIAL: TCP connections the server makes inside a network namespace and relays like pipes.
describe('spawn server dial', () => {
  let netns: string;
  let pod: ChildProcess;
  /** The servers' ports in the namespace (see SERVERS), and what they report. */
  let ports: { echo4: number; echo6: number; same: number; source: number; closed: number };
  const events: string[] = [];
  let host: Server;

  /**
   * Servers inside the namespace: echo on 127.0.0.1 and on ::1 alone (the end
   * of input answered with "<eof>" and a close), "pod" on the port the host
   * uses for "host", and a source of endless zeros that says when it blocks.
   */
  const SERVERS = `
    const net = require('node:net');
    const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
    const listen = (s, host, port) => new Promise((r) => s.listen(port, host, () => r(s.address().port)));
    const echo = () => net.createServer({ allowHalfOpen: true }, (c) => {
      c.on('data', (d) => c.write(d));
      c.on('end', () => c.end('<eof>'));
      c.on('error', () => {});
      c.on('close', () => say({ event: 'closed' }));
    });
    const source = net.createServer((c) => {
      const chunk = Buffer.alloc(1 << 16);
      let sent = 0;
      const pump = () => {
        while (sent < 64 << 20) {
          sent += chunk.length;
          if (!c.write(chunk)) { say({ event: 'blocked' }); return c.once('drain', pump); }
        }
        c.end();
      };
      c.on('error', () => {});
      pump();
    });
    (async () => {
      const gone = net.createServer();
      const closed = await listen(gone, '127.0.0.1', 0);
      gone.close();
      say({
        echo4: await listen(echo(), '127.0.0.1', 0),
        echo6: await listen(echo(), '::1', 0),
        same: await listen(net.createServer((c) => c.end('pod')), '127.0.0.1', Number(process.argv[2])),
        source: await listen(source, '127.0.0.1', 0),
        closed,
      });
    })();
  `;

  const target = (port: number, extra: Partial<DialRequest> = {}): DialRequest => ({ netns, address: '127.0.0.1', port, timeoutMs: 10_000, ...extra });

  function readAll(s: Duplex): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
    });
  }

  /** The spawn server's socket fds. */
  function sockets(pid: number): number {
    return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    }).length;
  }

  function children(pid: number): string {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  }

  beforeAll(async () => {
    netns = join(dir, 'netns');
    writeFileSync(netns, '');
    execFileSync('unshare', [`--net=${netns}`, '--', 'ip', 'link', 'set', 'lo', 'up']);
    host = createServer((c) => c.end('host'));
    const hostPort = await new Promise<number>((resolve) => host.listen(0, '127.0.0.1', () => resolve((host.address() as AddressInfo).port)));
    writeFileSync(join(dir, 'servers.js'), SERVERS);
    pod = nodeSpawn('nsenter', [`--net=${netns}`, '--', process.execPath, join(dir, 'servers.js'), String(hostPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
    ports = await new Promise((resolve) => {
      let buf = '';
      pod.stdout!.on('data', (b: Buffer) => {
        buf += b.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const msg = JSON.parse(buf.slice(0, nl)) as { event?: string } & typeof ports;
          buf = buf.slice(nl + 1);
          if (msg.event) events.push(msg.event);
          else resolve(msg);
        }
      });
    });
  });

  afterAll(async () => {
    pod?.kill('SIGKILL');
    await new Promise((r) => host?.close(r));
    if (netns) execFileSync('umount', [netns]);
  });

  it('connects inside the namespace, not in its own', async () => {
    const inPod = await server.dial(target(ports.same));
    expect((await readAll(inPod.end())).toString()).toBe('pod');
    const inHost = await server.dial(target(ports.same, { netns: '' }));
    expect((await readAll(inHost.end())).toString()).toBe('host');
  });

  it.each([
    ['127.0.0.1', 'echo4'],
    ['::1', 'echo6'],
  ] as const)('carries bytes both ways to %s, with half-close each way', async (address, which) => {
    const c = await server.dial(target(ports[which], { address }));
    const got = readAll(c);
    c.write('one ');
    c.end('two');
    // The pod answers the end of our side and then ends its own: both halves close in order.
    expect((await got).toString()).toBe('one two<eof>');
    await until('the socket is closed', () => c.destroyed);
  });

  it('relays megabytes intact, and holds a fast sender back while the reader is slow', async () => {
    const c = await server.dial(target(ports.echo4));
    const input = randomBytes(24 << 20);
    const got = readAll(c);
    c.end(input);
    const back = await got;
    expect(back.length).toBe(input.length + 5);
    expect(createHash('sha256').update(back.subarray(0, input.length)).digest('hex')).toBe(createHash('sha256').update(input).digest('hex'));

    const blockedBefore = events.filter((e) => e === 'blocked').length;
    const s = await server.dial(target(ports.source));
    s.pause();
    await until('the source in the pod is blocked', () => events.filter((e) => e === 'blocked').length > blockedBefore);
    expect(rssKiB(server.pid!)).toBeLessThan(16 * 1024);
    expect(s.readableLength).toBeLessThan(4 << 20);
    let total = 0;
    s.on('data', (b: Buffer) => (total += b.length));
    const ended = new Promise((r) => s.once('end', r));
    s.resume();
    await ended;
    expect(total).toBe(64 << 20);
  });

  it('reports a closed port as ECONNREFUSED, worded as Node does', async () => {
    const err = await server.dial(target(ports.closed)).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: `connect ECONNREFUSED 127.0.0.1:${ports.closed}`, code: 'ECONNREFUSED', syscall: 'connect', port: ports.closed });
  });

  it('names a namespace it cannot enter, and why', async () => {
    const missing = join(dir, 'no-such-netns');
    await expect(server.dial(target(1, { netns: missing }))).rejects.toMatchObject({ message: `cannot enter the network namespace ${missing}: ENOENT`, code: 'ENOENT' });
    const plain = join(dir, 'servers.js');
    await expect(server.dial(target(1, { netns: plain }))).rejects.toThrow(`cannot enter the network namespace ${plain}: EINVAL (not a network namespace)`);
    await expect(server.dial(target(1, { address: '10.0.0.1' }))).rejects.toThrow(/EADDRNOTAVAIL 10\.0\.0\.1:1 \(only loopback addresses are dialled\)/);
  });

  it('gives up on a connect that gets no answer after the timeout; an abort ends a connect in flight', async () => {
    const port = ports.closed;
    const rule = ['INPUT', '-p', 'tcp', '--dport', String(port), '-j', 'DROP'];
    execFileSync('nsenter', [`--net=${netns}`, 'iptables', '-A', ...rule]);
    try {
      const before = sockets(server.pid!);
      await expect(server.dial(target(port, { timeoutMs: 300 }))).rejects.toMatchObject({
        message: `connect ETIMEDOUT 127.0.0.1:${port} (no answer within 300 ms)`,
        code: 'ETIMEDOUT',
      });
      expect(sockets(server.pid!)).toBe(before);
      const abort = new AbortController();
      const pending = server.dial(target(port, { timeoutMs: 0 }), abort.signal);
      await until('the connect is in flight', () => sockets(server.pid!) === before + 1);
      abort.abort();
      await expect(pending).rejects.toThrow(`connect to 127.0.0.1:${port} aborted`);
      await until('its socket is closed', () => sockets(server.pid!) === before);
    } finally {
      execFileSync('nsenter', [`--net=${netns}`, 'iptables', '-D', ...rule]);
    }
  });

  it('closes the connection in the pod when the stream is destroyed', async () => {
    const before = sockets(server.pid!);
    const closedBefore = events.filter((e) => e === 'closed').length;
    const c = await server.dial(target(ports.echo4));
    c.write('x');
    await new Promise((r) => c.once('data', r));
    expect(sockets(server.pid!)).toBe(before + 2); // the socket and the dup that reads it
    c.destroy();
    await until('the pod saw the close', () => events.filter((e) => e === 'closed').length > closedBefore);
    await until('the server closed both fds', () => sockets(server.pid!) === before);
  });

  it('carries 50 connections at once without starting a single process', async () => {
    const before = sockets(server.pid!);
    const conns = await Promise.all(Array.from({ length: 50 }, () => server.dial(target(ports.echo4))));
    const replies = conns.map((c) => readAll(c));
    conns.forEach((c, i) => c.write(`hello ${i} `));
    // All 50 are open at once here, each in the server as two fds, and it has no child at all.
    expect(sockets(server.pid!)).toBe(before + 100);
    expect(children(server.pid!)).toBe('');
    conns.forEach((c, i) => c.end(`bye ${i}`));
    (await Promise.all(replies)).forEach((r, i) => expect(r.toString()).toBe(`hello ${i} bye ${i}<eof>`));
    await until('every socket is closed', () => sockets(server.pid!) === before);
  });

  it('stays single-threaded and in its own namespace: children started after dials are in ours', async () => {
    const status = readFileSync(`/proc/${server.pid!}/status`, 'utf8');
    expect(/^Threads:\s+(\d+)$/m.exec(status)![1]).toBe('1');
    const ours = readlinkSync('/proc/self/ns/net');
    expect(readlinkSync(`/proc/${server.pid!}/ns/net`)).toBe(ours);
    const r = await outcome(server.spawn('readlink', ['/proc/self/ns/net']));
    expect(r.stdout.toString().trim()).toBe(ours);
  });

  it('exits, loudly, when it cannot return to its own namespace after a dial', async () => {
    // setns(2) that fails every second call: entering works, returning does not.
    writeFileSync(
      join(dir, 'setns-fails.c'),
      '#define _GNU_SOURCE\n#include <dlfcn.h>\n#include <errno.h>\nstatic int calls;\n' +
        'int setns(int fd, int type) {\n  int (*real)(int, int) = (int (*)(int, int))dlsym(RTLD_NEXT, "setns");\n' +
        '  if (++calls % 2 == 0) { errno = EPERM; return -1; }\n  return real(fd, type);\n}\n',
    );
    execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'setns-fails.so'), join(dir, 'setns-fails.c')]);
    const wrapper = join(dir, 'spawn-setns-fails');
    writeFileSync(wrapper, `#!/bin/sh\nLD_PRELOAD=${join(dir, 'setns-fails.so')} exec ${BINARY}\n`);
    chmodSync(wrapper, 0o755);
    const own = await SpawnServer.start({ binary: wrapper });
    try {
      const pid = own.pid!;
      const err = await own.dial(target(ports.echo4)).then(
        () => new Error('the dial succeeded'),
        (e: unknown) => e as Error,
      );
      expect(err.message).toMatch(/spawn server \(krill-spawn, pid \d+\) exited with code 2 \(krill-spawn: cannot return to its own network namespace after a dial.*: Operation not permitted\)/);
      expect(alive(pid)).toBe(false);
    } finally {
      await own.stop();
    }
  });
});
