// Exec, Attach and PortForward through a real krilld (conmon exec-attach,
// conmon's attach socket, sockets the spawn server makes in the pod's network namespace),
// driven by Krill's own streaming client over SPDY and over WebSocket.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerState } from '../api/runtime/v1/api';
import { grpc } from '../pkg/criclient/client';
import {
  HttpStatusError,
  PortForwardClient,
  spdyRemoteCommand,
  wsRemoteCommand,
  type RemoteCommandOptions,
  type RemoteCommandSession,
} from '../pkg/streaming/testing/client';
import type { SpdyStream } from '../pkg/streaming/spdy/connection';
import { testImage, waitExited } from './harness/containers';
import { containerFixture, type ContainerFixture, type TestPod } from './harness/ctr_fixture';

const IMAGE = testImage('httpd');
const HTTPD = (JSON.parse(process.env.KRILL_TEST_IMAGES ?? '{}') as { images?: Record<string, { http?: { port: number; body: string } }> }).images?.httpd?.http ?? {
  port: 80,
  body: '<html><body><h1>krill-test httpd</h1></body></html>\n',
};
/**
 * Generous for every test that uses a URL in time (a loaded machine must not make one late); the expiry test
 * has a krilld of its own with a short TTL.
 */
const TOKEN_TTL_MS = 120_000;
/** The short TTL of the expiry test's krilld. */
const SHORT_TOKEN_TTL_MS = 1000;
/** streaming.max_sessions_per_container, lower than the default so that the cap is cheap to reach. */
const MAX_SESSIONS = 6;

let f: ContainerFixture;
let pod: TestPod;
let shell: string;
let httpd: string;

beforeAll(async () => {
  f = await containerFixture('streamk', [IMAGE], { config: `[streaming]\ntoken_ttl = "${TOKEN_TTL_MS}ms"\nmax_sessions_per_container = ${MAX_SESSIONS}\n` });
  pod = await f.pod();
  shell = await pod.start('shell', IMAGE, { command: ['sleep', '3600'] });
  httpd = await pod.start('httpd', IMAGE, {});
});

afterAll(async () => {
  await f?.cleanup();
});

type Transport = 'spdy' | 'websocket';
const TRANSPORTS: Transport[] = ['spdy', 'websocket'];

function open(transport: Transport, url: string, o: RemoteCommandOptions): Promise<RemoteCommandSession> {
  return transport === 'spdy' ? spdyRemoteCommand(url, o) : wsRemoteCommand(url, o);
}

function read(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString()));
  });
}

/** Collects a stream's text and resolves waits for patterns in it. */
class Screen {
  text = '';
  private waiters: { pattern: RegExp; from: number; resolve: (m: RegExpExecArray) => void }[] = [];
  private ended = false;

  constructor(stream: NodeJS.ReadableStream) {
    stream.on('data', (c: Buffer) => {
      this.text += c.toString();
      this.check();
    });
    stream.on('end', () => {
      this.ended = true;
      this.check();
    });
  }

  /** Waits for `pattern` in what arrives after offset `from` (default: everything so far). */
  waitFor(pattern: RegExp, from = 0): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ pattern, from, resolve });
      this.check();
      const timer = setTimeout(() => reject(new Error(`no ${pattern} in ${JSON.stringify(this.text.slice(from))}${this.ended ? ' (ended)' : ''}`)), 15_000);
      timer.unref();
    });
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      const m = w.pattern.exec(this.text.slice(w.from));
      if (m) w.resolve(m);
      return !m;
    });
  }
}

async function execUrl(containerId: string, cmd: string[], o: RemoteCommandOptions): Promise<string> {
  const r = await f.client.runtime.exec({
    containerId,
    cmd,
    tty: o.tty ?? false,
    stdin: o.stdin ?? false,
    stdout: o.stdout ?? true,
    stderr: o.stderr ?? false,
  });
  return r.url;
}

async function attachUrl(containerId: string, o: RemoteCommandOptions): Promise<string> {
  const r = await f.client.runtime.attach({ containerId, tty: o.tty ?? false, stdin: o.stdin ?? false, stdout: o.stdout ?? true, stderr: o.stderr ?? false });
  return r.url;
}

async function runExec(transport: Transport, cmd: string[], o: RemoteCommandOptions = {}, stdin?: string) {
  const opts: RemoteCommandOptions = { stdout: true, stderr: !o.tty, ...o, ...(stdin !== undefined ? { stdin: true } : {}) };
  const s = await open(transport, await execUrl(shell, cmd, opts), opts);
  const [out, err] = [read(s.stdout), read(s.stderr)];
  if (stdin !== undefined) s.stdin!.end(stdin);
  const result = await s.done;
  return { ...result, stdout: await out, stderr: await err };
}

/** `root` and every process below it, with their command names. */
function descendants(root: number): { pid: number; comm: string }[] {
  const parent = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      comm.set(Number(name), stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: { pid: number; comm: string }[] = [];
  for (const [pid, name] of comm) {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) {
      if (p === root) {
        out.push({ pid, comm: name });
        break;
      }
    }
  }
  return out;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function psArgs(containerId: string): Promise<string[]> {
  const r = await f.client.runtime.execSync({ containerId, cmd: ['ps', '-o', 'args'], timeout: 10n });
  return r.stdout.toString().split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
}

async function state(id: string): Promise<ContainerState> {
  return (await pod.status(id)).state;
}

describe.each(TRANSPORTS)('exec over %s', (transport) => {
  test('stdout and stderr apart, and the exit code', async () => {
    const r = await runExec(transport, ['sh', '-c', 'echo out; echo err >&2; echo more; exit 3']);
    expect(r.stdout).toBe('out\nmore\n');
    expect(r.stderr).toBe('err\n');
    expect(r.exitCode).toBe(3);
    expect(r.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode' });
  });

  test('exit 0 is Success', async () => {
    const r = await runExec(transport, ['true']);
    expect(r.exitCode).toBe(0);
    expect(r.status).toMatchObject({ status: 'Success' });
  });

  test('stdin reaches the command and its end closes the command’s stdin', async () => {
    const r = await runExec(transport, ['sh', '-c', 'cat; echo done'], {}, 'line one\nline two\n');
    expect(r.stdout).toBe('line one\nline two\ndone\n');
    expect(r.exitCode).toBe(0);
  });

  test('megabytes of stdin arrive whole', async () => {
    const input = Array.from({ length: 400000 }, (_, i) => `line ${i}\n`).join('');
    const digest = createHash('sha256').update(input).digest('hex');
    const r = await runExec(transport, ['sh', '-c', 'sha256sum; echo done'], {}, input);
    expect(r.stdout).toBe(`${digest}  -\ndone\n`);
    expect(r.exitCode).toBe(0);
  });

  test('megabytes of output arrive whole and in order', async () => {
    const r = await runExec(transport, ['seq', '1', '300000']);
    const expected = Array.from({ length: 300000 }, (_, i) => `${i + 1}\n`).join('');
    expect(r.stdout.length).toBe(expected.length);
    expect(r.stdout === expected).toBe(true);
  });

  test('a background child holding stdout does not hold the session', async () => {
    const r = await runExec(transport, ['sh', '-c', 'sleep 4331 & echo "started $!"']);
    expect(r).toMatchObject({ stdout: expect.stringMatching(/^started \d+\n$/), exitCode: 0 });
    // The child lives on in the container.
    expect((await psArgs(shell)).filter((p) => p.includes('sleep 4331'))).toHaveLength(1);
    await f.client.runtime.execSync({ containerId: shell, cmd: ['kill', r.stdout.split(' ')[1]!.trim()], timeout: 10n });
  });

  test('a missing command is an error on the session, not a hang', async () => {
    const r = await runExec(transport, ['/no/such/binary']);
    expect(r.exitCode).not.toBe(0);
    expect(r.error).toMatch(/no such file|not found/i);
  });

  test('with a tty: the terminal size follows resizes, typing works, the exit code comes back', async () => {
    const o = { tty: true, stdin: true, stdout: true };
    const s = await open(transport, await execUrl(shell, ['sh'], o), o);
    const screen = new Screen(s.stdout);
    s.resize({ width: 100, height: 40 });
    // The size reaches the terminal through conmon's control FIFO, asynchronously: ask until it shows.
    const sizeIs = async (rows: number, cols: number): Promise<void> => {
      for (let i = 0; ; i++) {
        const from = screen.text.length;
        s.stdin!.write('stty size\n');
        const m = await screen.waitFor(/(\d+) (\d+)\r?\n/, from);
        if (m[1] === String(rows) && m[2] === String(cols)) return;
        if (i > 50) throw new Error(`terminal is ${m[1]}x${m[2]}, not ${rows}x${cols}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await sizeIs(40, 100);
    s.resize({ width: 132, height: 50 });
    await sizeIs(50, 132);
    const from = screen.text.length;
    s.stdin!.write('echo typed-$((6*7))\n');
    await screen.waitFor(/typed-42/, from);
    s.stdin!.write('exit 5\n');
    const r = await s.done;
    expect(r.exitCode).toBe(5);
  });

  test('with a tty: Ctrl-C interrupts the foreground command', async () => {
    const o = { tty: true, stdin: true, stdout: true };
    const script = 'trap "echo interrupted; exit 9" INT; echo ready; while :; do sleep 0.05; done';
    const s = await open(transport, await execUrl(shell, ['sh', '-c', script], o), o);
    const screen = new Screen(s.stdout);
    await screen.waitFor(/ready/);
    s.stdin!.write('\x03');
    await screen.waitFor(/interrupted/);
    expect((await s.done).exitCode).toBe(9);
  });

  test('with a tty: a lot of output arrives whole (the terminal turns \\n into \\r\\n)', async () => {
    const r = await runExec(transport, ['seq', '1', '100000'], { tty: true, stdin: false });
    const expected = Array.from({ length: 100000 }, (_, i) => `${i + 1}\r\n`).join('');
    expect(r.stdout.length).toBe(expected.length);
    expect(r.stdout === expected).toBe(true);
    expect(r.exitCode).toBe(0);
  });

  test('a session ends when its container is stopped', async () => {
    const id = await pod.start(`stopped-${transport}`, IMAGE, { command: ['sleep', '3600'] });
    const o = { stdout: true, stderr: true };
    const s = await open(transport, await execUrl(id, ['sh', '-c', 'echo ready; exec sleep 4333'], o), o);
    const screen = new Screen(s.stdout);
    await screen.waitFor(/ready/);
    await f.client.runtime.stopContainer({ containerId: id, timeout: 0n });
    const r = await s.done;
    // Killed with the container: no exit 0, and no hang.
    expect(r.exitCode).not.toBe(0);
    await f.client.runtime.removeContainer({ containerId: id });
  });

  test('a client that goes away takes its command with it', async () => {
    const o = { stdin: true, stdout: true };
    const s = await open(transport, await execUrl(shell, ['sh', '-c', 'echo ready; exec sleep 4332'], o), o);
    const screen = new Screen(s.stdout);
    await screen.waitFor(/ready/);
    s.abort();
    let left = ['?'];
    for (let i = 0; i < 50 && left.length > 0; i++) {
      left = (await psArgs(shell)).filter((p) => p.includes('sleep 4332'));
      if (left.length > 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(left).toEqual([]);
  });
});

describe.each(TRANSPORTS)('attach over %s', (transport) => {
  test('to a tty container: typing reaches it, and a client that leaves does not stop it', async () => {
    const id = await pod.start(`tty-${transport}`, IMAGE, { command: ['sh'], tty: true, stdin: true, stdinOnce: false });
    const o = { tty: true, stdin: true, stdout: true };
    for (const round of [1, 2]) {
      const s = await open(transport, await attachUrl(id, o), o);
      const screen = new Screen(s.stdout);
      s.resize({ width: 90, height: 30 });
      // Until the attach socket is connected, typing may reach nobody: type until the shell answers.
      for (let i = 0; ; i++) {
        s.stdin!.write(`echo round-$((${round}*1000))\n`);
        try {
          await Promise.race([screen.waitFor(new RegExp(`round-${round * 1000}\\r?\\n`)), new Promise((_, rej) => setTimeout(rej, 500))]);
          break;
        } catch {
          if (i > 20) throw new Error(`the shell never answered: ${JSON.stringify(screen.text)}`);
        }
      }
      s.abort();
      await s.done;
      expect(await state(id)).toBe(ContainerState.CONTAINER_RUNNING);
    }
    // The resize reached the container's terminal.
    const r = await f.client.runtime.execSync({ containerId: id, cmd: ['sh', '-c', 'stty size < /proc/1/fd/0'], timeout: 10n });
    expect(r.stdout.toString()).toBe('30 90\n');
    await f.client.runtime.stopContainer({ containerId: id, timeout: 0n });
    await f.client.runtime.removeContainer({ containerId: id });
  });

  test('without a tty: stdout and stderr apart; the end of the client’s stdin is not the container’s (stdin_once false)', async () => {
    const script = 'while read l; do echo "got $l"; echo "err $l" >&2; done; echo stdin-closed; exit 4';
    const id = await pod.start(`keep-${transport}`, IMAGE, { command: ['sh', '-c', script], stdin: true, stdinOnce: false });
    const o = { stdin: true, stdout: true, stderr: true };
    const s1 = await open(transport, await attachUrl(id, o), o);
    const out1 = new Screen(s1.stdout);
    const err1 = new Screen(s1.stderr);
    s1.stdin!.write('a\n');
    await out1.waitFor(/got a\n/);
    await err1.waitFor(/err a\n/);
    expect(out1.text).not.toContain('err a');
    s1.stdin!.end();
    s1.abort();
    await s1.done;
    expect(await state(id)).toBe(ContainerState.CONTAINER_RUNNING);
    // A second client still reaches the same stdin.
    const s2 = await open(transport, await attachUrl(id, o), o);
    const out2 = new Screen(s2.stdout);
    s2.stdin!.write('b\n');
    await out2.waitFor(/got b\n/);
    s2.abort();
    await s2.done;
    expect(out2.text).not.toContain('stdin-closed');
    expect(await state(id)).toBe(ContainerState.CONTAINER_RUNNING);
    await f.client.runtime.stopContainer({ containerId: id, timeout: 0n });
    await f.client.runtime.removeContainer({ containerId: id });
  });

  test('a tty that does not match the container’s is served: stdout carries the output (stderr too, without a terminal)', async () => {
    const script = 'while read l; do echo "out $l"; echo "err $l" >&2; done';
    const withTty = await pod.start(`mis-tty-${transport}`, IMAGE, { command: ['sh', '-c', script], tty: true, stdin: true });
    const noTty = await pod.start(`mis-notty-${transport}`, IMAGE, { command: ['sh', '-c', script], stdin: true });
    // No tty asked of a container that has one (crictl attach without -t): all of it is on stdout.
    const plain = { stdin: true, stdout: true, stderr: true };
    const s1 = await open(transport, await attachUrl(withTty, plain), plain);
    const out1 = new Screen(s1.stdout);
    for (let i = 0; ; i++) {
      s1.stdin!.write(`p${i}\n`);
      try {
        await Promise.race([out1.waitFor(new RegExp(`out p${i}\\r?\\n(.|\\n)*err p${i}`)), new Promise((_, rej) => setTimeout(rej, 500))]);
        break;
      } catch {
        if (i > 20) throw new Error(`no output: ${JSON.stringify(out1.text)}`);
      }
    }
    s1.abort();
    await s1.done;
    // A tty asked of a container without one: stderr joins stdout.
    const tty = { stdin: true, stdout: true, tty: true };
    const s2 = await open(transport, await attachUrl(noTty, tty), tty);
    const out2 = new Screen(s2.stdout);
    for (let i = 0; ; i++) {
      s2.stdin!.write(`q${i}\n`);
      try {
        await Promise.race([out2.waitFor(new RegExp(`err q${i}\\n`)), new Promise((_, rej) => setTimeout(rej, 500))]);
        break;
      } catch {
        if (i > 20) throw new Error(`no output: ${JSON.stringify(out2.text)}`);
      }
    }
    s2.abort();
    await s2.done;
    for (const id of [withTty, noTty]) {
      await f.client.runtime.stopContainer({ containerId: id, timeout: 0n });
      await f.client.runtime.removeContainer({ containerId: id });
    }
  });

  test('stdin_once: the first client’s end of stdin closes the container’s, and the session ends with it', async () => {
    const script = 'while read l; do echo "got $l"; done; echo stdin-closed; exit 4';
    const id = await pod.start(`once-${transport}`, IMAGE, { command: ['sh', '-c', script], stdin: true, stdinOnce: true });
    const o = { stdin: true, stdout: true, stderr: true };
    const s = await open(transport, await attachUrl(id, o), o);
    const out = new Screen(s.stdout);
    s.stdin!.write('x\n');
    await out.waitFor(/got x\n/);
    s.stdin!.end();
    await out.waitFor(/stdin-closed\n/);
    await s.done;
    expect(await waitExited(f.client, id)).toMatchObject({ exitCode: 4 });
    await f.client.runtime.removeContainer({ containerId: id });
  });
});

describe.each(TRANSPORTS)('port-forward over %s', (transport) => {
  function get(stream: SpdyStream): Promise<string> {
    const body = read(stream);
    stream.end('GET / HTTP/1.0\r\nHost: pod\r\n\r\n');
    return body;
  }

  test('two concurrent connections to httpd in the pod, and a second port in the same session', async () => {
    const { url } = await f.client.runtime.portForward({ podSandboxId: pod.id, port: [HTTPD.port] });
    const pf = await PortForwardClient.dial(url, transport);
    try {
      const [a, b] = await Promise.all([pf.connect(HTTPD.port), pf.connect(HTTPD.port)]);
      const [ra, rb] = await Promise.all([get(a.data), get(b.data)]);
      for (const r of [ra, rb]) {
        expect(r).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
        expect(r.endsWith(`\r\n\r\n${HTTPD.body}`)).toBe(true);
      }
      expect(await a.error).toBe('');
      expect(await b.error).toBe('');
      // A port nothing listens on: the error stream says so, the session carries on.
      const closed = await pf.connect(8);
      closed.data.end();
      expect(await closed.error).toMatch(
        new RegExp(`^error forwarding port 8 to pod ${pod.id}, uid : cannot connect to port 8 in the pod: connect ECONNREFUSED 127\\.0\\.0\\.1:8; connect E[A-Z]+ ::1:8$`),
      );
      const again = await pf.connect(HTTPD.port);
      expect(await get(again.data)).toContain(HTTPD.body);
    } finally {
      pf.close();
    }
  });
});

test.each(TRANSPORTS)('port-forward over %s: 50 connections at once all carry data, and no process is started for any', async (transport) => {
  const { url } = await f.client.runtime.portForward({ podSandboxId: pod.id, port: [HTTPD.port] });
  const pf = await PortForwardClient.dial(url, transport);
  try {
    const conns = await Promise.all(Array.from({ length: 50 }, () => pf.connect(HTTPD.port)));
    const bodies = conns.map((c) => read(c.data));
    // Half a request each: all 50 connections are open in the pod at once.
    for (const c of conns) c.data.write('GET / HTTP/1.0\r\n');
    const local = `:${HTTPD.port.toString(16).toUpperCase().padStart(4, '0')}$`;
    await until('httpd has all 50 connections', async () => {
      const established = `cat /proc/net/tcp /proc/net/tcp6 | awk '$4 == "01" && $2 ~ /${local}/' | wc -l`;
      const r = await f.client.runtime.execSync({ containerId: httpd, cmd: ['sh', '-c', established], timeout: 10n });
      return Number(r.stdout.toString().trim()) === 50;
    });
    const krilldTree = descendants(f.k.pid());
    expect(krilldTree.filter((p) => /^(nsenter|socat)$/.test(p.comm))).toEqual([]);
    for (const c of conns) c.data.end('Host: pod\r\n\r\n');
    for (const body of await Promise.all(bodies)) expect(body.endsWith(`\r\n\r\n${HTTPD.body}`)).toBe(true);
    for (const c of conns) expect(await c.error).toBe('');
  } finally {
    pf.close();
  }
});

test.each(TRANSPORTS)('port-forward over %s carries megabytes intact', async (transport) => {
  const made = await f.client.runtime.execSync({
    containerId: httpd,
    cmd: ['sh', '-c', `head -c 6000000 /dev/urandom > /www/big-${transport}; sha256sum /www/big-${transport}`],
    timeout: 30n,
  });
  const digest = made.stdout.toString().split(' ')[0]!;
  const { url } = await f.client.runtime.portForward({ podSandboxId: pod.id, port: [] });
  const pf = await PortForwardClient.dial(url, transport);
  try {
    const c = await pf.connect(HTTPD.port);
    const chunks: Buffer[] = [];
    const got = new Promise<Buffer>((resolve) => {
      c.data.on('data', (b: Buffer) => chunks.push(b));
      c.data.on('end', () => resolve(Buffer.concat(chunks)));
    });
    c.data.end(`GET /big-${transport} HTTP/1.0\r\n\r\n`);
    const response = await got;
    const body = response.subarray(response.indexOf('\r\n\r\n') + 4);
    expect(body.length).toBe(6000000);
    expect(createHash('sha256').update(body).digest('hex')).toBe(digest);
  } finally {
    pf.close();
  }
});

describe('tokens', () => {
  const marker = (n: string): string => `/tmp/token-marker-${n}`;
  const exists = async (path: string): Promise<boolean> =>
    (await f.client.runtime.execSync({ containerId: shell, cmd: ['test', '-e', path], timeout: 10n })).exitCode === 0;

  test.each(TRANSPORTS)('over %s a URL works once; a second use is 404 and runs nothing', async (transport) => {
    const path = marker(`twice-${transport}`);
    const url = await execUrl(shell, ['sh', '-c', `echo ran >> ${path}`], { stdout: true });
    const first = await open(transport, url, { stdout: true });
    await first.done;
    expect(await exists(path)).toBe(true);
    await expect(open(transport, url, { stdout: true })).rejects.toMatchObject({ statusCode: 404 });
    const r = await f.client.runtime.execSync({ containerId: shell, cmd: ['cat', path], timeout: 10n });
    expect(r.stdout.toString()).toBe('ran\n');
  });

  describe('with a short token_ttl', () => {
    let short: ContainerFixture;
    let shortShell: string;
    beforeAll(async () => {
      short = await containerFixture('streamk-ttl', [IMAGE], { config: `[streaming]\ntoken_ttl = "${SHORT_TOKEN_TTL_MS}ms"\n` });
      shortShell = await (await short.pod()).start('shell', IMAGE, { command: ['sleep', '3600'] });
    });
    afterAll(async () => {
      await short?.cleanup();
    });

    test.each(TRANSPORTS)('over %s a URL used after token_ttl is 404 and runs nothing', async (transport) => {
      const path = marker(`late-${transport}`);
      const r = await short.client.runtime.exec({ containerId: shortShell, cmd: ['touch', path], tty: false, stdin: false, stdout: true, stderr: false });
      // Late for sure: waiting longer than the TTL can only make it later.
      await new Promise((res) => setTimeout(res, SHORT_TOKEN_TTL_MS + 500));
      const err = await open(transport, r.url, { stdout: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HttpStatusError);
      expect((err as HttpStatusError).statusCode).toBe(404);
      const ran = await short.client.runtime.execSync({ containerId: shortShell, cmd: ['test', '-e', path], timeout: 10n });
      expect(ran.exitCode).toBe(1);
    });
  });

  test('attach and port-forward URLs are single-use too', async () => {
    const { url: pfUrl } = await f.client.runtime.portForward({ podSandboxId: pod.id, port: [HTTPD.port] });
    (await PortForwardClient.dial(pfUrl, 'spdy')).close();
    await expect(PortForwardClient.dial(pfUrl, 'spdy')).rejects.toMatchObject({ statusCode: 404 });
    const id = await pod.start('attach-token', IMAGE, { command: ['sleep', '3600'] });
    const url = await attachUrl(id, { stdout: true });
    const s = await open('spdy', url, { stdout: true });
    s.abort();
    await expect(open('websocket', url, { stdout: true })).rejects.toMatchObject({ statusCode: 404 });
    await f.client.runtime.stopContainer({ containerId: id, timeout: 0n });
    await f.client.runtime.removeContainer({ containerId: id });
  });
});

describe('streaming.max_sessions_per_container', () => {
  /** Calls `rpc` until it is no longer ResourceExhausted (a slot comes back once a session's connection has closed). */
  async function untilAccepted<T>(rpc: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        return await rpc();
      } catch (err) {
        if ((err as { code?: number }).code !== grpc.status.RESOURCE_EXHAUSTED || Date.now() > deadline) throw err;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test('Exec and Attach beyond the cap are ResourceExhausted, until a session ends', async () => {
    const id = await pod.start('capped', IMAGE, { command: ['sleep', '3600'] });
    const o = { stdout: true };
    const sessions: RemoteCommandSession[] = [];
    try {
      for (let i = 0; i < MAX_SESSIONS - 1; i++) sessions.push(await open(i % 2 ? 'websocket' : 'spdy', await execUrl(id, ['sleep', '3600'], o), o));
      sessions.push(await open('spdy', await attachUrl(id, o), o));
      await expect(execUrl(id, ['true'], o)).rejects.toMatchObject({
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: expect.stringMatching(new RegExp(`^container ${id} has ${MAX_SESSIONS} streaming sessions open or pending already \\(streaming\\.max_sessions_per_container\\)`)),
      });
      await expect(attachUrl(id, o)).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
      // Another container of the same pod is not affected.
      const r = await runExec('spdy', ['echo', 'other container']);
      expect(r.stdout).toBe('other container\n');
      sessions.shift()!.abort();
      const url = await untilAccepted(() => execUrl(id, ['echo', 'after'], o));
      const after = await open('spdy', url, o);
      expect(await read(after.stdout)).toBe('after\n');
    } finally {
      for (const s of sessions) s.abort();
      await f.client.runtime.stopContainer({ containerId: id, timeout: 0n });
      await f.client.runtime.removeContainer({ containerId: id });
    }
  });

  test('PortForward beyond the cap is ResourceExhausted, until a session ends', async () => {
    const other = await f.pod();
    const sessions: PortForwardClient[] = [];
    try {
      for (let i = 0; i < MAX_SESSIONS; i++) sessions.push(await PortForwardClient.dial((await f.client.runtime.portForward({ podSandboxId: other.id, port: [] })).url, 'spdy'));
      await expect(f.client.runtime.portForward({ podSandboxId: other.id, port: [] })).rejects.toMatchObject({
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: expect.stringContaining(`pod sandbox ${other.id} has ${MAX_SESSIONS} streaming sessions`),
      });
      sessions.shift()!.close();
      await untilAccepted(() => f.client.runtime.portForward({ podSandboxId: other.id, port: [] }));
    } finally {
      for (const s of sessions) s.close();
      await f.client.runtime.stopPodSandbox({ podSandboxId: other.id });
      await f.client.runtime.removePodSandbox({ podSandboxId: other.id });
    }
  });
});

describe('RPC errors', () => {
  let exited: string;
  beforeAll(async () => {
    exited = await pod.start('exited', IMAGE, { command: ['true'], stdin: true });
    await waitExited(f.client, exited);
  });

  test('Exec and Attach to a container that is not running: FailedPrecondition', async () => {
    const req = { containerId: exited, cmd: ['true'], tty: false, stdin: false, stdout: true, stderr: false };
    await expect(f.client.runtime.exec(req)).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION, details: expect.stringContaining('not running') });
    await expect(f.client.runtime.attach({ containerId: exited, tty: false, stdin: false, stdout: true, stderr: false })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
  });

  test('Exec and Attach to an unknown container: NotFound', async () => {
    const containerId = 'f'.repeat(64);
    await expect(f.client.runtime.exec({ containerId, cmd: ['true'], tty: false, stdin: false, stdout: true, stderr: false })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(f.client.runtime.attach({ containerId, tty: false, stdin: false, stdout: true, stderr: false })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test('PortForward to a stopped pod: FailedPrecondition; a URL issued before the stop forwards nothing', async () => {
    const other = await f.pod();
    const { url } = await f.client.runtime.portForward({ podSandboxId: other.id, port: [] });
    await f.client.runtime.stopPodSandbox({ podSandboxId: other.id });
    await expect(f.client.runtime.portForward({ podSandboxId: other.id, port: [80] })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: expect.stringContaining('not ready'),
    });
    const pf = await PortForwardClient.dial(url, 'spdy');
    try {
      const c = await pf.connect(80);
      c.data.end();
      c.data.resume();
      expect(await c.error).not.toBe('');
    } finally {
      pf.close();
    }
  });

  test('PortForward to an unknown pod: NotFound', async () => {
    await expect(f.client.runtime.portForward({ podSandboxId: 'f'.repeat(64), port: [80] })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test('bad requests are InvalidArgument naming the field', async () => {
    await expect(f.client.runtime.exec({ containerId: shell, cmd: [], tty: false, stdin: false, stdout: true, stderr: false })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('cmd'),
    });
    await expect(f.client.runtime.exec({ containerId: shell, cmd: ['true'], tty: true, stdin: false, stdout: true, stderr: true })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('stderr'),
    });
    await expect(f.client.runtime.attach({ containerId: shell, tty: false, stdin: true, stdout: true, stderr: false })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('stdin'),
    });
    await expect(f.client.runtime.portForward({ podSandboxId: pod.id, port: [70000] })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('port'),
    });
  });

  afterAll(async () => {
    await f.client.runtime.removeContainer({ containerId: exited });
  });
});

test.each(TRANSPORTS)('a krilld restart ends open %s sessions and their commands; streaming works after it', async (transport) => {
  const o = { stdin: true, stdout: true };
  const s = await open(transport, await execUrl(shell, ['sh', '-c', 'echo ready; exec sleep 4335'], o), o);
  const screen = new Screen(s.stdout);
  await screen.waitFor(/ready/);
  await f.k.restart();
  await s.done;
  let left = ['?'];
  for (let i = 0; i < 50 && left.length > 0; i++) {
    left = (await psArgs(shell)).filter((p) => p.includes('sleep 4335'));
    if (left.length > 0) await new Promise((r) => setTimeout(r, 100));
  }
  expect(left).toEqual([]);
  const r = await runExec(transport, ['echo', 'after restart']);
  expect(r).toMatchObject({ stdout: 'after restart\n', exitCode: 0 });
});

test('after a krilld crash, the next krilld ends the commands of the sessions it lost and removes their files', async () => {
  const o = { stdin: true, stdout: true };
  const s = await open('spdy', await execUrl(shell, ['sh', '-c', 'echo ready; exec sleep 4336'], o), o);
  const screen = new Screen(s.stdout);
  await screen.waitFor(/ready/);
  await f.k.kill9();
  await s.done;
  // The command outlives krilld (conmon holds it) until the next krilld starts.
  expect(readdirSync(join(f.k.state, 'exec'))).toHaveLength(1);
  await f.k.restart();
  let left = ['?'];
  for (let i = 0; i < 50 && left.length > 0; i++) {
    left = (await psArgs(shell)).filter((p) => p.includes('sleep 4336'));
    if (left.length > 0) await new Promise((r) => setTimeout(r, 100));
  }
  expect(left).toEqual([]);
});

test('exec sessions leave nothing behind in krilld’s state directory', async () => {
  const ids = new Set((await f.client.runtime.listContainers({ filter: undefined })).containers.map((c) => c.id));
  // Only containers have attach links; every exec session's link and scratch directory is gone.
  const links = readdirSync(join(f.k.state, 'attach'));
  expect(links.filter((name) => !ids.has(name))).toEqual([]);
  expect(readdirSync(join(f.k.state, 'exec'))).toEqual([]);
});

test('the containers the tests left running are as they were', async () => {
  expect(await state(shell)).toBe(ContainerState.CONTAINER_RUNNING);
  expect(await state(httpd)).toBe(ContainerState.CONTAINER_RUNNING);
});
