// The streaming server's port-forward over SPDY, SPDY tunnelled in a
// WebSocket, and WebSocket channels, against TCP servers on 127.0.0.1.
import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { defaultConfig } from '../pkg/config/config';
import { silentLogger } from '../pkg/log/logger';
import { HttpStatusError, PortForwardClient, dialWebSocket } from '../pkg/streaming/testing/client';
import { StreamingServer } from '../pkg/streaming/server';
import { LocalProcessBackend } from '../pkg/streaming/testing/local_backend';

const backend = new LocalProcessBackend();
let server: StreamingServer;
let echo: Server;
let echoPort: number;
let hello: Server;
let helloPort: number;
let closedPort: number;
const echoSockets = new Set<Socket>();

function listen(s: Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)));
}

beforeAll(async () => {
  // Echoes what it gets; when the client half-closes, says "<eof>" and closes.
  echo = createServer({ allowHalfOpen: true }, (sock) => {
    echoSockets.add(sock);
    sock.on('close', () => echoSockets.delete(sock));
    sock.on('data', (d) => sock.write(d));
    sock.on('end', () => sock.end('<eof>'));
    sock.on('error', () => undefined);
  });
  echoPort = await listen(echo);
  // Greets and hangs up at once.
  hello = createServer((sock) => sock.end(`hello from ${helloPort}\n`));
  helloPort = await listen(hello);
  const gone = createServer();
  closedPort = await listen(gone);
  await new Promise((r) => gone.close(r));
  server = await StreamingServer.start({ config: { ...defaultConfig().streaming, address: '127.0.0.1', port: 0 }, backend, log: silentLogger() });
});

afterAll(async () => {
  await server.stop();
  await new Promise((r) => echo.close(r));
  await new Promise((r) => hello.close(r));
});

const pfUrl = (ports: number[] = []): string => server.register('portforward', { podSandboxId: 'pod1', port: ports });

function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function readUntil(stream: Duplex, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        stream.off('data', onData);
        stream.pause();
        resolve(Buffer.concat(chunks));
      }
    };
    stream.on('data', onData);
  });
}

describe.each(['spdy', 'websocket'] as const)('port-forward over %s', (transport) => {
  test('two concurrent connections to one port stay apart, with half-close', async () => {
    const pf = await PortForwardClient.dial(pfUrl(), transport);
    const [a, b] = await Promise.all([pf.connect(echoPort), pf.connect(echoPort)]);
    const aGot = readAll(a.data);
    const bGot = readAll(b.data);
    a.data.write('first-a ');
    b.data.write('first-b ');
    a.data.write('second-a');
    b.data.end('second-b');
    a.data.end();
    expect((await aGot).toString()).toBe('first-a second-a<eof>');
    expect((await bGot).toString()).toBe('first-b second-b<eof>');
    expect(await a.error).toBe('');
    expect(await b.error).toBe('');
    pf.close();
  });

  test('50 connections at once in one session all carry their own data', async () => {
    const pf = await PortForwardClient.dial(pfUrl(), transport);
    const conns = await Promise.all(Array.from({ length: 50 }, () => pf.connect(echoPort)));
    const got = conns.map((c) => readAll(c.data));
    conns.forEach((c, i) => c.data.write(`hello ${i} `));
    await new Promise<void>((resolve) => {
      const check = (): void => (echoSockets.size === 50 ? resolve() : void setTimeout(check, 20));
      check();
    });
    conns.forEach((c, i) => c.data.end(`bye ${i}`));
    (await Promise.all(got)).forEach((b, i) => expect(b.toString()).toBe(`hello ${i} bye ${i}<eof>`));
    for (const c of conns) expect(await c.error).toBe('');
    pf.close();
  });

  test('several ports in one session, and a pod that hangs up first', async () => {
    const pf = await PortForwardClient.dial(pfUrl(), transport);
    const h = await pf.connect(helloPort);
    const e = await pf.connect(echoPort);
    expect((await readAll(h.data)).toString()).toBe(`hello from ${helloPort}\n`);
    expect(await h.error).toBe('');
    const eGot = readAll(e.data);
    e.data.end('ping');
    expect((await eGot).toString()).toBe('ping<eof>');
    pf.close();
  });

  test('megabytes pass through intact', async () => {
    const pf = await PortForwardClient.dial(pfUrl(), transport);
    const c = await pf.connect(echoPort);
    const payload = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < payload.length; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
    const got = readAll(c.data);
    c.data.end(payload);
    const back = await got;
    expect(back.length).toBe(payload.length + 5);
    expect(createHash('sha256').update(back.subarray(0, payload.length)).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
    pf.close();
  });

  test('a port nobody listens on is reported on the error stream', async () => {
    const pf = await PortForwardClient.dial(pfUrl(), transport);
    const c = await pf.connect(closedPort);
    expect(await c.error).toBe(`error forwarding port ${closedPort} to pod pod1, uid : connect ECONNREFUSED 127.0.0.1:${closedPort}`);
    expect((await readAll(c.data)).length).toBe(0);
    pf.close();
  });

  test('streams without a valid port or stream type are refused', async () => {
    const pf = await PortForwardClient.dial(pfUrl(), transport);
    await expect(pf.conn.openStream({ streamtype: ['data'], requestid: ['9'] })).rejects.toThrow(/refused/);
    await expect(pf.conn.openStream({ streamtype: ['data'], port: ['0'], requestid: ['9'] })).rejects.toThrow(/refused/);
    await expect(pf.conn.openStream({ streamtype: ['stdout'], port: ['80'], requestid: ['9'] })).rejects.toThrow(/refused/);
    // The connection is still usable.
    const c = await pf.connect(helloPort);
    expect((await readAll(c.data)).toString()).toContain('hello');
    pf.close();
  });

  test('a client that drops the connection closes the connections inside the pod', async () => {
    const pf = await PortForwardClient.dial(pfUrl(), transport);
    const c = await pf.connect(echoPort);
    c.data.write('x');
    await readUntil(c.data, 1);
    expect(echoSockets.size).toBe(1);
    pf.conn.destroy();
    await new Promise<void>((resolve) => {
      const check = (): void => (echoSockets.size === 0 ? resolve() : void setTimeout(check, 20));
      check();
    });
  });

  test('an unknown or reused token is 404', async () => {
    const url = pfUrl();
    const pf = await PortForwardClient.dial(url, transport);
    pf.close();
    const err = await PortForwardClient.dial(url, transport).catch((e: unknown) => e);
    expect((err as HttpStatusError).statusCode).toBe(404);
  });
});

describe('port-forward over WebSocket channels', () => {
  interface Channels {
    messages: Map<number, Buffer[]>;
    send(channel: number, data: Buffer | string): void;
    closed: Promise<void>;
  }

  async function open(url: string, protocol: string): Promise<Channels> {
    const messages = new Map<number, Buffer[]>();
    let closed!: Promise<void>;
    let socket!: WebSocket;
    const { protocol: chosen } = await dialWebSocket(url, [protocol], {}, (w) => {
      socket = w;
      w.on('message', (raw: Buffer) => {
        const list = messages.get(raw[0]!) ?? [];
        list.push(raw.subarray(1));
        messages.set(raw[0]!, list);
      });
      closed = new Promise((r) => w.once('close', () => r()));
    });
    expect(chosen).toBe(protocol);
    return { messages, send: (ch, data) => socket.send(Buffer.concat([Buffer.from([ch]), Buffer.from(data)])), closed };
  }

  const port16 = (p: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(p);
    return b;
  };

  test('one data and one error channel per port, each opened with the port number', async () => {
    const c = await open(pfUrl([helloPort, echoPort]), 'v4.channel.k8s.io');
    c.send(2, 'abc');
    await new Promise<void>((resolve) => {
      const check = (): void => (Buffer.concat(c.messages.get(2) ?? []).includes('abc') ? resolve() : void setTimeout(check, 10));
      check();
    });
    expect(c.messages.get(0)![0]).toEqual(port16(helloPort));
    expect(c.messages.get(1)![0]).toEqual(port16(helloPort));
    expect(Buffer.concat(c.messages.get(0)!.slice(1)).toString()).toBe(`hello from ${helloPort}\n`);
    expect(c.messages.get(2)![0]).toEqual(port16(echoPort));
    expect(c.messages.get(3)![0]).toEqual(port16(echoPort));
    expect(Buffer.concat(c.messages.get(2)!.slice(1)).toString()).toBe('abc');
  });

  test('the ports may come from the URL when the request named none; errors use the error channel', async () => {
    const c = await open(`${pfUrl()}?port=${closedPort}`, 'v4.channel.k8s.io');
    await c.closed;
    expect(Buffer.concat(c.messages.get(1)!.slice(1)).toString()).toMatch(/ECONNREFUSED/);
  });

  test('no port at all is refused before the upgrade', async () => {
    const err = await dialWebSocket(pfUrl(), ['v4.channel.k8s.io']).catch((e: unknown) => e);
    expect((err as HttpStatusError).statusCode).toBe(400);
  });
});

describe('port-forward stream pairing', () => {
  test('an error stream whose data stream never comes gets a timeout message', async () => {
    const quick = await StreamingServer.start({
      config: { ...defaultConfig().streaming, address: '127.0.0.1', port: 0, stream_creation_timeout: 200 },
      backend,
      log: silentLogger(),
    });
    try {
      const pf = await PortForwardClient.dial(quick.register('portforward', { podSandboxId: 'pod1', port: [] }), 'spdy');
      const error = await pf.conn.openStream({ streamtype: ['error'], port: [String(echoPort)], requestid: ['5'] });
      error.end();
      expect((await readAll(error)).toString()).toBe('(request=5) timed out waiting for streams');
      pf.close();
    } finally {
      await quick.stop();
    }
  });

  test('clients that send no requestID are paired by stream id', async () => {
    const pf = await PortForwardClient.dial(pfUrl(), 'spdy');
    const error = await pf.conn.openStream({ streamtype: ['error'], port: [String(helloPort)] });
    error.end();
    const data = await pf.conn.openStream({ streamtype: ['data'], port: [String(helloPort)] });
    expect(data.id).toBe(error.id + 2);
    expect((await readAll(data)).toString()).toBe(`hello from ${helloPort}\n`);
    expect((await readAll(error)).toString()).toBe('');
    pf.close();
  });
});
