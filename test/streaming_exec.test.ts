// The streaming server's exec and attach over SPDY and WebSocket, driven by
// Krill's own client against host processes (no krilld, no containers).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { defaultConfig } from '../pkg/config/config';
import { silentLogger } from '../pkg/log/logger';
import { HttpStatusError, dialSpdy, dialWebSocket, spdyRemoteCommand, wsRemoteCommand, type RemoteCommandOptions, type RemoteCommandSession } from '../pkg/streaming/testing/client';
import { StreamingServer } from '../pkg/streaming/server';
import { LocalProcessBackend } from '../pkg/streaming/testing/local_backend';
import { testBaseDir } from './harness/paths';

let now = Date.now();
const backend = new LocalProcessBackend();
let server: StreamingServer;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(testBaseDir(), 'streaming-exec-'));
  backend.startContainer('ctr', ['sleep', '600']);
  server = await StreamingServer.start({
    config: { ...defaultConfig().streaming, address: '127.0.0.1', port: 0, token_ttl: 60_000 },
    backend,
    log: silentLogger(),
    clock: () => now,
  });
});

afterAll(async () => {
  await server.stop();
  await backend.stopAll();
  rmSync(scratch, { recursive: true, force: true });
});

function read(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString()));
  });
}

/** Reads until `pattern` shows up in the stream's output. */
function waitFor(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (c: Buffer): void => {
      text += c.toString();
      if (pattern.test(text)) {
        stream.off('data', onData);
        resolve(text);
      }
    };
    stream.on('data', onData);
    stream.once('end', () => reject(new Error(`stream ended before ${pattern}: ${JSON.stringify(text)}`)));
  });
}

type Open = (url: string, opts: RemoteCommandOptions) => Promise<RemoteCommandSession>;

const transports: [string, Open][] = [
  ['SPDY v4', (url, o) => spdyRemoteCommand(url, o)],
  ['WebSocket v5', (url, o) => wsRemoteCommand(url, o, ['v5.channel.k8s.io'])],
  ['WebSocket v4', (url, o) => wsRemoteCommand(url, o, ['v4.channel.k8s.io'])],
  ['WebSocket v4 base64', (url, o) => wsRemoteCommand(url, o, ['v4.base64.channel.k8s.io'])],
];

function execUrl(cmd: string[], o: RemoteCommandOptions = {}): string {
  return server.register('exec', {
    containerId: 'ctr',
    cmd,
    tty: o.tty ?? false,
    stdin: o.stdin ?? false,
    stdout: o.stdout ?? true,
    stderr: o.stderr ?? !(o.tty ?? false),
  });
}

async function run(open: Open, cmd: string[], o: RemoteCommandOptions = {}, stdin?: string) {
  const opts = { stdout: true, stderr: !o.tty, ...o, ...(stdin !== undefined ? { stdin: true } : {}) };
  const s = await open(execUrl(cmd, opts), opts);
  const [out, err] = [read(s.stdout), read(s.stderr)];
  if (stdin !== undefined) s.stdin!.end(stdin);
  const result = await s.done;
  return { ...result, stdout: await out, stderr: await err, protocol: s.protocol };
}

describe.each(transports)('exec over %s', (_name, open) => {
  test('exit code 0 with stdout and stderr kept apart', async () => {
    const r = await run(open, ['sh', '-c', 'echo out; echo err >&2; echo more']);
    expect(r.stdout).toBe('out\nmore\n');
    expect(r.stderr).toBe('err\n');
    expect(r.exitCode).toBe(0);
    expect(r.status).toEqual({ metadata: {}, status: 'Success' });
  });

  test('a non-zero exit code reaches the client as the NonZeroExitCode status', async () => {
    const r = await run(open, ['sh', '-c', 'echo bye >&2; exit 3']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toBe('bye\n');
    expect(r.status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
  });

  test('stdin reaches the process', async () => {
    // WebSocket v4 has no way to close stdin alone, so the command stops reading by itself.
    const r = await run(open, ['sh', '-c', 'head -n 2; echo done'], {}, 'hello\nworld\n');
    expect(r.stdout).toBe('hello\nworld\ndone\n');
    expect(r.exitCode).toBe(0);
  });

  test('large output arrives whole and in order', async () => {
    const r = await run(open, ['seq', '1', '300000']);
    const expected = Array.from({ length: 300000 }, (_, i) => `${i + 1}\n`).join('');
    expect(r.stdout.length).toBe(expected.length);
    expect(r.stdout === expected).toBe(true);
    expect(r.exitCode).toBe(0);
  });

  test('a backend error (container not running) is an InternalError status', async () => {
    const url = server.register('exec', { containerId: 'gone', cmd: ['true'], tty: false, stdin: false, stdout: true, stderr: true });
    const s = await open(url, { stdout: true, stderr: true });
    const r = await s.done;
    expect(r.exitCode).toBeUndefined();
    expect(r.status).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'Internal error occurred: error executing command in container: container gone is not running',
      reason: 'InternalError',
      details: { causes: [{ message: 'error executing command in container: container gone is not running' }] },
      code: 500,
    });
  });

  test('a tty session gets the terminal size the client sends', async () => {
    const s = await open(execUrl(['sh'], { tty: true, stdin: true }), { tty: true, stdin: true, stdout: true });
    const resized = new Promise((r) => backend.once('resized', r));
    s.resize({ width: 100, height: 40 });
    expect(await resized).toEqual({ width: 100, height: 40 });
    const out = waitFor(s.stdout, /40 100/);
    s.stdin!.write('stty size\n');
    await out;
    s.stdin!.write('exit 5\n');
    const r = await s.done;
    expect(r.exitCode).toBe(5);
  });

  test('Ctrl-C typed in a tty session interrupts the foreground process', async () => {
    const script = 'trap "echo interrupted; exit 9" INT; echo ready; while :; do sleep 0.05; done';
    const s = await open(execUrl(['sh', '-c', script], { tty: true, stdin: true }), { tty: true, stdin: true, stdout: true });
    await waitFor(s.stdout, /ready/);
    const out = waitFor(s.stdout, /interrupted/);
    s.stdin!.write('\x03');
    await out;
    expect((await s.done).exitCode).toBe(9);
  });
});

describe('SPDY protocol versions', () => {
  test('closing stdin (FIN) ends the process’s stdin', async () => {
    const r = await run(transports[0]![1], ['sh', '-c', 'cat; echo done'], {}, 'hello\nworld\n');
    expect(r.stdout).toBe('hello\nworld\ndone\n');
  });

  test.each([
    ['v3.channel.k8s.io', 3],
    ['v2.channel.k8s.io', 2],
    ['channel.k8s.io', 1],
  ])('%s reports failures as plain text and success as nothing', async (protocol) => {
    const fail = await spdyRemoteCommand(execUrl(['sh', '-c', 'exit 4']), { stdout: true, stderr: true }, [protocol]);
    expect(fail.protocol).toBe(protocol);
    expect((await fail.done).error).toBe('command terminated with non-zero exit code: error executing command [sh -c exit 4], exit code 4');
    const ok = await spdyRemoteCommand(execUrl(['echo', 'hi']), { stdout: true, stderr: true }, [protocol]);
    const out = read(ok.stdout);
    expect((await ok.done).error).toBe('');
    expect(await out).toBe('hi\n');
  });

  test('the client’s order of preference wins among protocols both sides know', async () => {
    const s = await spdyRemoteCommand(execUrl(['true'], { stderr: false }), { stdout: true }, ['v9.channel.k8s.io', 'v3.channel.k8s.io', 'v4.channel.k8s.io']);
    expect(s.protocol).toBe('v3.channel.k8s.io');
    await s.done;
  });

  test('no protocol in common is 403 with the accepted list', async () => {
    const err = await dialSpdy(execUrl(['true']), ['v9.channel.k8s.io']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpStatusError);
    expect((err as HttpStatusError).statusCode).toBe(403);
    expect((err as HttpStatusError).body).toMatch(/unable to negotiate protocol/);
  });
});

describe('WebSocket protocols', () => {
  test('v5 closes stdin with the close signal', async () => {
    const r = await run(transports[1]![1], ['sh', '-c', 'wc -l'], {}, 'a\nb\nc\n');
    expect(r.stdout.trim()).toBe('3');
  });

  test('the legacy channel.k8s.io protocol reports a failure as text', async () => {
    const s = await wsRemoteCommand(execUrl(['sh', '-c', 'exit 2']), { stdout: true, stderr: true }, ['channel.k8s.io']);
    expect(s.protocol).toBe('channel.k8s.io');
    expect((await s.done).error).toMatch(/exit code 2$/);
  });

  test('an unsupported subprotocol is refused with 403', async () => {
    const err = await dialWebSocket(execUrl(['true']), ['v9.channel.k8s.io']).catch((e: unknown) => e);
    expect((err as HttpStatusError).statusCode).toBe(403);
  });
});

describe('tokens', () => {
  const marker = (): string => join(scratch, `ran-${Math.random().toString(36).slice(2)}`);

  test('an unknown token is 404 and runs nothing', async () => {
    for (const dial of [() => dialSpdy(`${server.url}/exec/AAAAAAAAAAAAAAAAAAAAAA`, ['v4.channel.k8s.io']), () => dialWebSocket(`${server.url}/exec/nope`, ['v5.channel.k8s.io'])]) {
      const err = await dial().catch((e: unknown) => e);
      expect((err as HttpStatusError).statusCode).toBe(404);
    }
    const res = await fetch(`${server.url}/nothing/here`);
    expect(res.status).toBe(404);
  });

  test('a token works once; a second use is 404 and runs nothing', async () => {
    const file = marker();
    const url = execUrl(['sh', '-c', `echo x >> ${file}`]);
    expect((await (await spdyRemoteCommand(url, { stdout: true, stderr: true })).done).exitCode).toBe(0);
    const again = await wsRemoteCommand(url, { stdout: true, stderr: true }).catch((e: unknown) => e);
    expect((again as HttpStatusError).statusCode).toBe(404);
    const third = await dialSpdy(url, ['v4.channel.k8s.io']).catch((e: unknown) => e);
    expect((third as HttpStatusError).statusCode).toBe(404);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(file, 'utf8')).toBe('x\n');
  });

  test('an expired token is 404 and runs nothing', async () => {
    const file = marker();
    const url = execUrl(['touch', file]);
    now += 60_001;
    const err = await dialSpdy(url, ['v4.channel.k8s.io']).catch((e: unknown) => e);
    expect((err as HttpStatusError).statusCode).toBe(404);
    expect(existsSync(file)).toBe(false);
  });

  test('a token only opens the kind of session it was made for', async () => {
    const url = execUrl(['true']).replace('/exec/', '/attach/');
    const err = await dialSpdy(url, ['v4.channel.k8s.io']).catch((e: unknown) => e);
    expect((err as HttpStatusError).statusCode).toBe(404);
  });

  test('a request that is not an upgrade uses the token up with 400', async () => {
    const file = marker();
    const url = execUrl(['touch', file]);
    const res = await fetch(url, { method: 'POST' });
    expect(res.status).toBe(400);
    const err = await dialSpdy(url, ['v4.channel.k8s.io']).catch((e: unknown) => e);
    expect((err as HttpStatusError).statusCode).toBe(404);
    expect(existsSync(file)).toBe(false);
  });

  test('requests are validated when registered', () => {
    const base = { containerId: 'ctr', cmd: ['true'], tty: false, stdin: false, stdout: true, stderr: false };
    expect(() => server.register('exec', { ...base, containerId: '' })).toThrow(/container_id is required/);
    expect(() => server.register('exec', { ...base, tty: true, stderr: true })).toThrow(/tty and stderr/);
    expect(() => server.register('exec', { ...base, stdout: false })).toThrow(/one of stdin, stdout and stderr/);
    expect(() => server.register('exec', { ...base, cmd: [] })).toThrow(/cmd must not be empty/);
    expect(() => server.register('attach', { containerId: 'ctr', tty: false, stdin: false, stdout: false, stderr: false })).toThrow(/one of/);
    expect(() => server.register('portforward', { podSandboxId: '', port: [] })).toThrow(/pod_sandbox_id is required/);
    expect(() => server.register('portforward', { podSandboxId: 'p', port: [80, 70000] })).toThrow(/port\[1\]/);
  });
});

/** A plain POST to `url` with the Host header set to `host` (fetch does not let a caller set Host). */
function fetchWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { Host: host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('any Host header', () => {
  // Nothing routes on Host: the URL's token is all that counts. Clients name the server as they like.
  const hosts = ['/run/krill/krill.sock', 'unix:///run/krill/krill.sock', '[::1]:10250', 'node-1.example:10010'];
  test.each(hosts)('exec over SPDY and WebSocket with Host %j', async (host) => {
    for (const open of [
      (url: string, o: RemoteCommandOptions) => spdyRemoteCommand(url, o, undefined, { host }),
      (url: string, o: RemoteCommandOptions) => wsRemoteCommand(url, o, ['v5.channel.k8s.io'], { host }),
    ]) {
      const r = await run(open, ['echo', 'hello']);
      expect([r.stdout, r.exitCode]).toEqual(['hello\n', 0]);
    }
  });

  test('a request that is not an upgrade, with a socket path as Host, gets the usual answer', async () => {
    const url = execUrl(['true']);
    const res = await fetchWithHost(url, '/run/krill/krill.sock');
    expect(res).toEqual({ status: 400, body: 'unable to upgrade: missing upgrade headers in request\n' });
  });
});

describe('attach', () => {
  const attachUrl = (id: string, o: { stdin?: boolean; tty?: boolean } = {}): string =>
    server.register('attach', { containerId: id, tty: o.tty ?? false, stdin: o.stdin ?? true, stdout: true, stderr: !(o.tty ?? false) });

  test('carries stdio both ways, and a client that leaves does not stop the container', async () => {
    const c = backend.startContainer('echoer', ['sh', '-c', 'while read l; do echo "got $l"; echo "err $l" >&2; done']);
    const first = await spdyRemoteCommand(attachUrl('echoer'), { stdin: true, stdout: true, stderr: true });
    const out1 = waitFor(first.stdout, /got a/);
    const err1 = waitFor(first.stderr, /err a/);
    first.stdin!.write('a\n');
    await Promise.all([out1, err1]);
    first.abort();
    await first.done;
    expect(c.process.exitCode).toBeNull();

    const second = await wsRemoteCommand(attachUrl('echoer'), { stdin: true, stdout: true, stderr: true });
    const out2 = waitFor(second.stdout, /got b/);
    second.stdin!.write('b\n');
    await out2;
    // stdin_once is not set: closing the client's stdin leaves the container running.
    second.stdin!.end();
    second.abort();
    await second.done;
    await new Promise((r) => setTimeout(r, 100));
    expect(c.process.exitCode).toBeNull();
    expect(backend.containers.has('echoer')).toBe(true);
  });

  test('ends with Success when the container exits', async () => {
    backend.startContainer('short', ['sh', '-c', 'read l; echo "bye $l"']);
    const s = await wsRemoteCommand(attachUrl('short'), { stdin: true, stdout: true, stderr: true }, ['v4.channel.k8s.io']);
    const out = read(s.stdout);
    s.stdin!.write('now\n');
    const r = await s.done;
    expect(await out).toBe('bye now\n');
    expect(r.status).toEqual({ metadata: {}, status: 'Success' });
  });

  test('to a container that is not running, the error reaches the client', async () => {
    const s = await spdyRemoteCommand(attachUrl('nothing', { stdin: false }), { stdout: true, stderr: true });
    const r = await s.done;
    expect(r.status?.message).toBe('Internal error occurred: error attaching to container: container nothing is not running');
  });
});

describe('a client that goes away', () => {
  const until = async (cond: () => boolean): Promise<void> => {
    while (!cond()) await new Promise((r) => setTimeout(r, 20));
  };

  test.each(transports)('over %s, takes its exec with it (the backend sees the abort)', async (_name, open) => {
    let started!: (p: unknown) => void;
    const running = new Promise((r) => (started = r));
    backend.once('execStarted', (p) => started(p));
    const s = await open(execUrl(['sleep', '100']), { stdout: true, stderr: true });
    await running;
    expect(backend.execs.size).toBe(1);
    s.abort();
    await until(() => backend.execs.size === 0);
  });
});

describe('timeouts', () => {
  // Each server has one short limit and a generous other one, so that a test can only pass by the limit it names
  // (and a loaded machine never trips the limit a test does not exercise).
  let hangup: StreamingServer;
  let idle: StreamingServer;
  const IDLE_MS = 1500;
  beforeAll(async () => {
    hangup = await StreamingServer.start({
      config: { ...defaultConfig().streaming, address: '127.0.0.1', port: 0, stream_creation_timeout: 300, idle_timeout: 120_000 },
      backend,
      log: silentLogger(),
    });
    idle = await StreamingServer.start({
      config: { ...defaultConfig().streaming, address: '127.0.0.1', port: 0, stream_creation_timeout: 60_000, idle_timeout: IDLE_MS },
      backend,
      log: silentLogger(),
    });
  });
  afterAll(async () => {
    await hangup.stop();
    await idle.stop();
  });
  const noExecs = async (): Promise<void> => {
    for (const end = Date.now() + 30_000; backend.execs.size > 0; ) {
      if (Date.now() > end) throw new Error(`${backend.execs.size} exec(s) still running`);
      await new Promise((res) => setTimeout(res, 20));
    }
  };

  test('a SPDY client that does not open every stream it asked for is hung up on', async () => {
    const url = hangup.register('exec', { containerId: 'ctr', cmd: ['true'], tty: false, stdin: false, stdout: true, stderr: true });
    const { conn } = await dialSpdy(url, ['v4.channel.k8s.io']);
    await conn.openStream({ streamtype: ['error'] });
    await conn.openStream({ streamtype: ['stdout'] });
    const closed = new Promise((r) => conn.once('close', r));
    await closed;
    expect(backend.execs.size).toBe(0);
  });

  test.each([
    ['SPDY', (url: string) => spdyRemoteCommand(url, { stdout: true })],
    ['WebSocket', (url: string) => wsRemoteCommand(url, { stdout: true })],
  ])('a %s connection idle for longer than idle_timeout is closed, and its exec ends', async (_name, open) => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    backend.once('execStarted', () => started());
    const url = idle.register('exec', { containerId: 'ctr', cmd: ['sleep', '100'], tty: false, stdin: false, stdout: true, stderr: false });
    const t0 = Date.now();
    const s = await open(url);
    await running;
    expect(backend.execs.size).toBe(1);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      s.done,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the server did not close the idle connection within 30 s')), 30_000))),
    ]).finally(() => clearTimeout(timer));
    // Closed by the server for idleness: no status (the command did not end), and not before the limit.
    expect(r.error).toBe('');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(IDLE_MS - 100);
    await noExecs();
  });
});
