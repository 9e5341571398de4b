// streaming.max_sessions_per_container: URLs handed out and sessions open
// count against their container (exec, attach) or pod (port-forward); a
// session that ends and a URL that expires unused give their slot back.
// The streaming server against host processes (no krilld).
import { request } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { ExecRequest } from '../api/runtime/v1/api';
import { defaultConfig } from '../pkg/config/config';
import { KrillError } from '../pkg/errors/errors';
import { silentLogger } from '../pkg/log/logger';
import { PortForwardClient, spdyRemoteCommand, wsRemoteCommand } from '../pkg/streaming/testing/client';
import { StreamingServer } from '../pkg/streaming/server';
import { LocalProcessBackend } from '../pkg/streaming/testing/local_backend';

const TTL_MS = 60_000;
const MAX = 2;
let now = Date.now();
const backend = new LocalProcessBackend();
let server: StreamingServer;
let echo: Server;
let echoPort: number;

beforeAll(async () => {
  for (const id of ['c1', 'c2', 'c3', 'c4', 'c5']) backend.startContainer(id, ['sleep', '600']);
  echo = createServer((s) => s.pipe(s));
  echoPort = await new Promise((resolve) => echo.listen(0, '127.0.0.1', () => resolve((echo.address() as AddressInfo).port)));
  server = await StreamingServer.start({
    config: { ...defaultConfig().streaming, address: '127.0.0.1', port: 0, token_ttl: TTL_MS, max_sessions_per_container: MAX },
    backend,
    log: silentLogger(),
    clock: () => now,
  });
});

afterAll(async () => {
  await server.stop();
  await backend.stopAll();
  await new Promise((r) => echo.close(r));
});

const exec = (containerId: string, cmd = ['sleep', '600']): ExecRequest => ({ containerId, cmd, tty: false, stdin: false, stdout: true, stderr: false });
const execUrl = (containerId: string, cmd?: string[]): string => server.register('exec', exec(containerId, cmd));
const attachUrl = (containerId: string): string => server.register('attach', { containerId, tty: false, stdin: false, stdout: true, stderr: false });
const pfUrl = (podSandboxId: string): string => server.register('portforward', { podSandboxId, port: [] });

function refusal(register: () => string): KrillError | undefined {
  try {
    register();
  } catch (err) {
    return err as KrillError;
  }
  return undefined;
}

/** Registers until it is accepted again (a slot comes back when a connection has closed: asynchronous). */
async function untilAccepted(register: () => string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return register();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

function plainGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      res.resume();
      resolve(res.statusCode!);
    })
      .on('error', reject)
      .end();
  });
}

test('beyond the cap Exec, Attach and PortForward URLs are refused with ResourceExhausted; exec and attach share the container’s slots', () => {
  execUrl('c1');
  attachUrl('c1');
  const err = refusal(() => execUrl('c1'));
  expect(err).toBeInstanceOf(KrillError);
  expect(err).toMatchObject({ code: 'ResourceExhausted' });
  expect(err!.message).toMatch(/^container c1 has 2 streaming sessions open or pending already \(streaming\.max_sessions_per_container\)/);
  expect(refusal(() => attachUrl('c1'))).toMatchObject({ code: 'ResourceExhausted' });
  // Another container, and pods, count apart.
  execUrl('c2');
  pfUrl('pod-a');
  pfUrl('pod-a');
  expect(refusal(() => pfUrl('pod-a'))?.message).toMatch(/^pod sandbox pod-a has 2 streaming sessions/);
  pfUrl('pod-b');
});

test('a URL that expires unused gives its slot back', () => {
  execUrl('c3');
  execUrl('c3');
  expect(refusal(() => execUrl('c3'))).toMatchObject({ code: 'ResourceExhausted' });
  now += TTL_MS; // exactly at the TTL a URL is still valid
  expect(refusal(() => execUrl('c3'))).toMatchObject({ code: 'ResourceExhausted' });
  now += 1;
  execUrl('c3');
  execUrl('c3');
  expect(refusal(() => execUrl('c3'))).toMatchObject({ code: 'ResourceExhausted' });
});

test('a session holds its slot while it runs and gives it back when it ends, over SPDY and WebSocket', async () => {
  const a = await spdyRemoteCommand(execUrl('c4'), { stdout: true });
  const b = await wsRemoteCommand(execUrl('c4'), { stdout: true });
  // The URLs are used up: from now on the sessions hold the slots, whatever the clock says.
  now += TTL_MS + 1;
  expect(refusal(() => execUrl('c4'))).toMatchObject({ code: 'ResourceExhausted' });
  a.abort();
  await a.done;
  const short = await spdyRemoteCommand(await untilAccepted(() => execUrl('c4', ['true'])), { stdout: true });
  expect((await short.done).exitCode).toBe(0);
  // A command that ends by itself ends its session, and the slot comes back.
  await untilAccepted(() => execUrl('c4'));
  expect(refusal(() => execUrl('c4'))).toMatchObject({ code: 'ResourceExhausted' });
  b.abort();
  await b.done;
  await untilAccepted(() => execUrl('c4'));
});

test('a URL used without a session, or for the wrong kind, gives its slot back', async () => {
  now += TTL_MS + 1;
  const first = execUrl('c5');
  execUrl('c5');
  expect(await plainGet(first)).toBe(400);
  const wrongKind = execUrl('c5');
  expect(await plainGet(wrongKind.replace('/exec/', '/attach/'))).toBe(404);
  execUrl('c5');
  expect(refusal(() => execUrl('c5'))).toMatchObject({ code: 'ResourceExhausted' });
});

test('a port-forward session holds its pod’s slot until it closes, however many connections it carries', async () => {
  now += TTL_MS + 1;
  const pf = await PortForwardClient.dial(pfUrl('pod-c'), 'spdy');
  const conns = await Promise.all([pf.connect(echoPort), pf.connect(echoPort), pf.connect(echoPort)]);
  for (const c of conns) c.data.end();
  pfUrl('pod-c');
  expect(refusal(() => pfUrl('pod-c'))).toMatchObject({ code: 'ResourceExhausted' });
  pf.close();
  await untilAccepted(() => pfUrl('pod-c'));
});
