// crictl v1.34 (client-go's SPDY and WebSocket clients) against the streaming
// server: a minimal CRI server hands out the URLs, host processes stand in
// for containers. This is the real client the protocols must satisfy.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import { defaultConfig } from '../pkg/config/config';
import { silentLogger } from '../pkg/log/logger';
import { CriServer } from '../pkg/server/server';
import { versionHandler } from '../pkg/server/version';
import { StreamingServer } from '../pkg/streaming/server';
import { LocalProcessBackend } from '../pkg/streaming/testing/local_backend';
import { testBaseDir } from './harness/paths';
import { CRICTL, crictlDescribe } from './harness/crictl';

const maybe = crictlDescribe;

const backend = new LocalProcessBackend();
let streaming: StreamingServer;
let cri: CriServer;
let dir: string;
let socket: string;
let echo: Server;
let echoPort: number;
const children = new Set<ChildProcess>();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function crictl(args: string[], stdin?: string, timeoutMs = 30_000): Promise<Run> {
  return runProcess(CRICTL, ['--runtime-endpoint', `unix://${socket}`, '--timeout', '10s', ...args], stdin, timeoutMs);
}

function runProcess(cmd: string, args: string[], stdin?: string, timeoutMs = 30_000, drive?: (stdin: NodeJS.WritableStream) => Promise<void>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(p);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out; stdout=${JSON.stringify(stdout)} stderr=${JSON.stringify(stderr)}`));
    }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      children.delete(p);
      resolve({ code, stdout, stderr });
    });
    if (stdin !== undefined) p.stdin.end(stdin);
    else if (drive) void drive(p.stdin);
  });
}

maybe('crictl against the streaming server', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(testBaseDir(), 'streaming-crictl-'));
    socket = join(dir, 'cri.sock');
    backend.startContainer('ctr', ['sleep', '600']);
    streaming = await StreamingServer.start({ config: { ...defaultConfig().streaming, address: '127.0.0.1', port: 0 }, backend, log: silentLogger() });
    cri = new CriServer({
      log: silentLogger(),
      // crictl 1.34 (cri-client) checks the image service with ImageFsInfo before any command.
      imageService: { imageFsInfo: async () => ({ imageFilesystems: [], containerFilesystems: [] }) },
      runtimeService: {
        version: versionHandler('test'),
        exec: async (req) => ({ url: streaming.register('exec', req) }),
        attach: async (req) => ({ url: streaming.register('attach', req) }),
        portForward: async (req) => ({ url: streaming.register('portforward', req) }),
      },
    });
    await cri.listen(socket);
    echo = createServer({ allowHalfOpen: true }, (s) => {
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
      s.on('error', () => undefined);
    });
    echoPort = await new Promise((r) => echo.listen(0, '127.0.0.1', () => r((echo.address() as { port: number }).port)));
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await cri?.shutdown(1000);
    await streaming?.stop();
    await backend.stopAll();
    await new Promise((r) => echo?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  describe.each(['spdy', 'websocket'])('exec --transport %s', (transport) => {
    test('stdout and stderr apart, exit 0', async () => {
      const r = await crictl(['exec', '--transport', transport, 'ctr', 'sh', '-c', 'echo out; echo err >&2']);
      expect(r).toMatchObject({ code: 0, stdout: 'out\n' });
      expect(r.stderr).toContain('err\n');
    });

    test('a non-zero exit code', async () => {
      // crictl reports the code in its error and exits 1 (it does so with every runtime).
      const r = await crictl(['exec', '--transport', transport, 'ctr', 'sh', '-c', 'exit 3']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('command terminated with exit code 3');
    });

    test('stdin with -i, closed at its end', async () => {
      const r = await crictl(['exec', '-i', '--transport', transport, 'ctr', 'sh', '-c', 'cat; echo done'], 'line one\nline two\n');
      expect(r).toMatchObject({ code: 0, stdout: 'line one\nline two\ndone\n' });
    });

    test('large output', async () => {
      const r = await crictl(['exec', '--transport', transport, 'ctr', 'seq', '1', '200000']);
      expect(r.code).toBe(0);
      expect(r.stdout === Array.from({ length: 200000 }, (_, i) => `${i + 1}\n`).join('')).toBe(true);
    });

    test('-it under a terminal: the terminal size, typing, and the exit code', async () => {
      // `script` gives crictl a terminal of 33 rows and 91 columns; crictl sends that size first.
      const inner = `stty rows 33 cols 91; ${CRICTL} --runtime-endpoint unix://${socket} exec -it --transport ${transport} ctr sh`;
      const resized = new Promise((resolve) => {
        const on = (size: { width: number; height: number }): void => {
          if (size.width !== 91 || size.height !== 33) return;
          backend.off('resized', on);
          resolve(size);
        };
        backend.on('resized', on);
      });
      const run = runProcess('script', ['-qfec', inner, '/dev/null'], undefined, 30_000, async (stdin) => {
        // Type only once the size has reached the exec's terminal.
        await resized;
        stdin.end('stty size\nexit 6\n');
      });
      const r = await run;
      expect(r.stdout).toMatch(/\r?\n33 91\r?\n/);
      expect(r.stdout).toContain('command terminated with exit code 6');
    });
  });

  test('attach -i to a container that reads a line and exits', async () => {
    backend.startContainer('reader', ['sh', '-c', 'read l; echo "got $l"; echo "err $l" >&2']);
    const r = await crictl(['attach', '-i', 'reader'], 'hello\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('got hello\n');
    expect(r.stderr).toContain('err hello\n');
  });

  describe.each(['spdy', 'websocket'])('port-forward --transport %s', (transport) => {
    test('forwards two concurrent connections', async () => {
      const p = spawn(CRICTL, ['--runtime-endpoint', `unix://${socket}`, 'port-forward', '--transport', transport, 'pod', `0:${echoPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(p);
      let stderr = '';
      p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const local = await new Promise<number>((resolve, reject) => {
        let out = '';
        p.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        p.once('exit', () => reject(new Error(`crictl port-forward exited: ${stderr}`)));
      });
      const roundTrip = (text: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const c = connect(local, '127.0.0.1');
          let got = '';
          c.on('data', (d) => (got += d.toString()));
          c.on('end', () => resolve(got));
          c.on('error', reject);
          c.end(text);
        });
      const [a, b] = await Promise.all([roundTrip('first connection'), roundTrip('second connection')]);
      expect([a, b]).toEqual(['first connection', 'second connection']);
      expect(await roundTrip('x'.repeat(300_000))).toBe('x'.repeat(300_000));
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGINT');
      await exited;
      children.delete(p);
      expect(stderr).not.toMatch(/error/i);
    });
  });
});
