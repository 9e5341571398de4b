// The CRI gRPC server on its unix socket, driven by grpc-js clients (one
// sending the socket path as :authority, as grpc-go before 1.57 does when
// dialed with a bare socket path):
// deadlines, cancellation, server streams, message limits, shutdown.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  ContainerEventType,
  ListContainersResponse,
  RuntimeServiceClient,
  type Container,
  type ContainerEventResponse,
  type ExecSyncResponse,
  type StatusResponse,
} from '../../api/runtime/v1/api';
import { connectCri, grpc, type CriClient } from '../criclient/client';
import { KrillError } from '../errors/errors';
import { EXEC_SYNC_OUTPUT_BUDGET } from '../runtime/exec_output';
import { createLogger, type Logger } from '../log/logger';
import { CriServer, MAX_MESSAGE_BYTES } from './server';
import { kubeletContainer } from '../../bench/lib/kubelet_container';
import type { CallContext } from './rpc';

const VERSION = { version: '0.1.0', runtimeName: 'krill', runtimeVersion: 'test', runtimeApiVersion: 'v1' };

interface Harness {
  socket: string;
  server: CriServer;
  /** Clients: grpc-js's default :authority, and the socket path as :authority. */
  plain: CriClient;
  pathAuthority: CriClient;
  raw: RuntimeServiceClient;
  calls: [string, string][];
  aborted: string[];
  /** The signals of the Version calls answered so far. */
  versionSignals: AbortSignal[];
  logs: Record<string, unknown>[];
  listed: { containers: Container[] };
  execReply: ExecSyncResponse;
  /** How many slow Status calls are waiting in their handler. */
  waiting(): number;
  /** Resolves the slow Status calls waiting. */
  release(): void;
  stop(graceMs?: number): Promise<void>;
}

function collectingLogger(lines: Record<string, unknown>[]): Logger {
  return createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    }),
  );
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-cri-server-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let serial = 0;
async function start(): Promise<Harness> {
  const socket = join(dir, `cri-${serial++}.sock`);
  const calls: [string, string][] = [];
  const aborted: string[] = [];
  const versionSignals: AbortSignal[] = [];
  const logs: Record<string, unknown>[] = [];
  const listed = { containers: [] as Container[] };
  const execReply: ExecSyncResponse = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 0 };
  let releases: (() => void)[] = [];
  const slowStatus = (_req: unknown, ctx: CallContext): Promise<StatusResponse> =>
    new Promise((resolve, reject) => {
      releases.push(() => resolve({ status: undefined, info: {}, runtimeHandlers: [], features: undefined }));
      ctx.signal.addEventListener('abort', () => {
        aborted.push(ctx.method);
        reject(new KrillError('Cancelled', 'gave up'));
      });
    });
  const server = new CriServer({
    log: collectingLogger(logs),
    observe: (method, code) => calls.push([method, code]),
    imageService: {},
    runtimeService: {
      version: async (_req, ctx) => {
        versionSignals.push(ctx.signal);
        return VERSION;
      },
      listContainers: async () => listed,
      execSync: async () => execReply,
      status: slowStatus,
      getContainerEvents: async (_req, ctx, stream) => {
        for (let i = 0; i < 3; i++) {
          const event: ContainerEventResponse = { containerId: `c${i}`, containerEventType: ContainerEventType.CONTAINER_STARTED_EVENT, createdAt: BigInt(i), podSandboxStatus: undefined, containersStatuses: [] };
          stream.write(event);
        }
        // Then stays open until the client goes.
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      },
    },
  });
  await server.listen(socket);
  const plain = connectCri(socket);
  const pathAuthority = connectCri(socket, { authority: socket });
  const raw = new RuntimeServiceClient(`unix://${socket}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': socket });
  let stopped = false;
  return {
    socket,
    server,
    plain,
    pathAuthority,
    raw,
    calls,
    aborted,
    versionSignals,
    logs,
    listed,
    execReply,
    waiting: () => releases.length,
    release: () => {
      for (const r of releases) r();
      releases = [];
    },
    stop: async (graceMs = 5000) => {
      if (!stopped) {
        stopped = true;
        await server.shutdown(graceMs);
      }
      plain.close();
      pathAuthority.close();
      raw.close();
    },
  };
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a CRI server', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start();
  });
  afterAll(async () => h.stop());

  test('the socket is mode 0660', () => {
    expect(statSync(h.socket).mode & 0o777).toBe(0o660);
  });

  test('answers with grpc-js\'s own :authority and with the socket path as :authority', async () => {
    await expect(h.plain.runtime.version({ version: '' })).resolves.toEqual(VERSION);
    await expect(h.pathAuthority.runtime.version({ version: '' })).resolves.toEqual(VERSION);
    await until(() => h.calls.filter(([m, c]) => m === 'Version' && c === 'OK').length >= 2, 'two Version calls observed');
  });

  test('a deadline reaches the handler as an abort, and the client as DEADLINE_EXCEEDED', async () => {
    const before = h.aborted.length;
    await expect(h.pathAuthority.runtime.status({ verbose: false }, { timeoutMs: 200 })).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    await until(() => h.aborted.length > before, 'the handler to see the abort');
  });

  test('a call that answered is not aborted when its stream closes (grpc-js reports that as cancelled)', async () => {
    const before = h.versionSignals.length;
    for (let i = 0; i < 5; i++) await h.plain.runtime.version({ version: '' });
    await new Promise((r) => setTimeout(r, 50));
    const signals = h.versionSignals.slice(before);
    expect(signals).toHaveLength(5);
    expect(signals.filter((s) => s.aborted)).toEqual([]);
  });

  test('a client cancel reaches the handler', async () => {
    const before = h.aborted.length;
    const waiting = h.waiting();
    const call = h.raw.status({ verbose: false }, () => undefined);
    await until(() => h.waiting() > waiting, 'the call to reach its handler');
    call.cancel();
    await until(() => h.aborted.length > before, 'the handler to see the cancel');
  });

  test('GetContainerEvents streams to a client that sends the socket path as :authority', async () => {
    const stream = h.pathAuthority.runtime.getContainerEvents({});
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (e: ContainerEventResponse) => {
        got.push(e.containerId);
        if (got.length === 3) resolve();
      });
      stream.on('error', reject);
    });
    expect(got).toEqual(['c0', 'c1', 'c2']);
    stream.on('error', () => undefined);
    stream.cancel();
    await until(() => h.calls.some(([m]) => m === 'GetContainerEvents'), 'the stream to finish');
  });

  test('ListContainers of 2,500 kubelet-shaped containers fits well within the limit, and arrives whole', async () => {
    h.listed.containers = Array.from({ length: 2500 }, (_, i) => kubeletContainer(i));
    const bytes = ListContainersResponse.encode(h.listed).finish().length;
    expect(bytes).toBeLessThan(MAX_MESSAGE_BYTES / 2);
    const r = await h.pathAuthority.runtime.listContainers({ filter: undefined });
    expect(r.containers).toHaveLength(2500);
    expect(r.containers[2499]!.labels['io.kubernetes.pod.namespace']).toBe('production-frontend');
  });

  test('a reply over 16 MiB is refused with RESOURCE_EXHAUSTED', async () => {
    const big = kubeletContainer(0);
    big.annotations.huge = 'x'.repeat(MAX_MESSAGE_BYTES);
    h.listed.containers = [big];
    await expect(h.pathAuthority.runtime.listContainers({ filter: undefined })).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    h.listed.containers = [];
  });

  test('an ExecSync reply with the most output ExecSync keeps still goes through', async () => {
    const half = EXEC_SYNC_OUTPUT_BUDGET / 2;
    h.execReply.stdout = Buffer.alloc(half, 'o');
    h.execReply.stderr = Buffer.alloc(EXEC_SYNC_OUTPUT_BUDGET - half, 'e');
    const r = await h.pathAuthority.runtime.execSync({ containerId: 'c', cmd: ['x'], timeout: 0n });
    expect(r.stdout.length + r.stderr.length).toBe(EXEC_SYNC_OUTPUT_BUDGET);
  });

  test('a request over 16 MiB is refused with RESOURCE_EXHAUSTED', async () => {
    await expect(h.pathAuthority.runtime.version({ version: 'v'.repeat(MAX_MESSAGE_BYTES) })).rejects.toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
    // Just under the limit is fine.
    await expect(h.pathAuthority.runtime.version({ version: 'v'.repeat(MAX_MESSAGE_BYTES - 64) })).resolves.toEqual(VERSION);
  });

  test('a connection that is not HTTP/2 is closed with a logged reason; the server keeps serving', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const s = connect(h.socket, () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('error', () => undefined);
      s.on('close', () => resolve(true));
      s.resume();
    });
    expect(closed).toBe(true);
    await until(() => h.logs.some((l) => l.msg === 'CRI socket: closing a connection that broke HTTP/2'), 'the log line');
    expect(h.logs.find((l) => l.msg === 'CRI socket: closing a connection that broke HTTP/2')).toMatchObject({ level: 'warn', reason: 'not an HTTP/2 client connection preface' });
    await expect(h.pathAuthority.runtime.version({ version: '' })).resolves.toEqual(VERSION);
  });
});

describe('shutdown', () => {
  test('waits for calls in flight, refuses new ones, closes the connections and removes the socket', async () => {
    const h = await start();
    try {
      await h.pathAuthority.runtime.version({ version: '' });
      const inFlight = h.pathAuthority.runtime.status({ verbose: false });
      await until(() => h.waiting() === 1, 'the call to reach its handler');
      const stopped = h.server.shutdown(10_000);
      let done = false;
      void stopped.then(() => (done = true));
      // A new connection is refused at once.
      const late = connectCri(h.socket);
      await expect(late.runtime.version({ version: '' }, { timeoutMs: 2000 })).rejects.toBeTruthy();
      late.close();
      expect(done).toBe(false);
      h.release();
      await expect(inFlight).resolves.toBeTruthy();
      await stopped;
      expect(existsSync(h.socket)).toBe(false);
    } finally {
      await h.stop();
    }
  });

  test('ends server streams (GetContainerEvents) at once instead of waiting for them', async () => {
    const h = await start();
    try {
      const stream = h.pathAuthority.runtime.getContainerEvents({});
      stream.on('error', () => undefined);
      await new Promise<void>((resolve) => stream.once('data', () => resolve()));
      const t0 = Date.now();
      await h.server.shutdown(20_000);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(h.logs.some((l) => l.msg === 'in-flight calls did not finish in time; cancelling them')).toBe(false);
      await new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once('close', () => resolve())));
      expect(h.calls).toContainEqual(['GetContainerEvents', 'OK']);
    } finally {
      await h.stop();
    }
  });

  test('cancels what is still in flight after the grace period', async () => {
    const h = await start();
    try {
      const inFlight = h.pathAuthority.runtime.status({ verbose: false });
      inFlight.catch(() => undefined);
      const stream = h.pathAuthority.runtime.getContainerEvents({});
      stream.on('error', () => undefined);
      await new Promise<void>((resolve) => stream.once('data', () => resolve()));
      await until(() => h.waiting() === 1, 'the call to reach its handler');
      await h.server.shutdown(300);
      await expect(inFlight).rejects.toMatchObject({ code: expect.any(Number) });
      await until(() => h.logs.some((l) => l.msg === 'in-flight calls did not finish in time; cancelling them'), 'the warning');
      await new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once('close', () => resolve())));
      expect(existsSync(h.socket)).toBe(false);
    } finally {
      await h.stop();
    }
  });
});
