import { duplexPair, type Duplex } from 'node:stream';
import { SpdyConnection, type SpdyStream } from './connection';
import { FrameDecoder, FrameEncoder, type Frame } from './frames';

function read(stream: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString()));
    stream.on('error', reject);
  });
}

function pair(): { client: SpdyConnection; server: SpdyConnection; streams: SpdyStream[] } {
  const [a, b] = duplexPair();
  const client = new SpdyConnection(a, { server: false });
  const server = new SpdyConnection(b, { server: true });
  const streams: SpdyStream[] = [];
  server.on('stream', (s) => {
    streams.push(s);
    s.reply();
  });
  return { client, server, streams };
}

/** A raw peer: frames written by hand to a SpdyConnection, frames read back decoded. */
function rawPeer(server: boolean): { conn: SpdyConnection; send: (b: Buffer) => void; frames: Frame[]; enc: FrameEncoder } {
  const [a, b] = duplexPair();
  const conn = new SpdyConnection(a, { server });
  const dec = new FrameDecoder();
  const frames: Frame[] = [];
  b.on('data', (c: Buffer) => frames.push(...dec.push(c)));
  return { conn, send: (buf) => b.write(buf), frames, enc: new FrameEncoder() };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('SpdyConnection', () => {
  test('opens streams with headers and carries data both ways with half-close', async () => {
    const { client, server, streams } = pair();
    const s1 = await client.openStream({ streamtype: ['stdin'] });
    const s2 = await client.openStream({ streamtype: ['stdout'], port: ['80'] });
    expect([s1.id, s2.id]).toEqual([1, 3]);
    expect(streams.map((s) => s.headers)).toEqual([{ streamtype: ['stdin'] }, { streamtype: ['stdout'], port: ['80'] }]);
    const [in1, in2] = streams as [SpdyStream, SpdyStream];
    const serverGot = read(in1);
    s1.end('from client');
    expect(await serverGot).toBe('from client');
    const clientGot = read(s2);
    in2.write('a'.repeat(200_000));
    in2.end('!');
    expect(await clientGot).toBe(`${'a'.repeat(200_000)}!`);
    client.close();
    await new Promise((r) => server.once('close', r));
  });

  test('a reset stream is destroyed on the other side and a refused open rejects', async () => {
    const { client, streams } = pair();
    const s = await client.openStream({ streamtype: ['data'] });
    const closed = new Promise((r) => streams[0]!.once('close', r));
    s.reset();
    await closed;
    expect(streams[0]!.destroyed).toBe(true);

    const [a, b] = duplexPair();
    const c = new SpdyConnection(a, { server: false });
    new SpdyConnection(b, { server: true }); // no 'stream' listener: every stream is refused
    await expect(c.openStream({ streamtype: ['x'] })).rejects.toThrow(/refused/);
  });

  test('answers the peer’s PINGs and matches its own', async () => {
    const peer = rawPeer(true);
    peer.send(peer.enc.ping(1));
    await tick();
    expect(peer.frames).toEqual([{ type: 'ping', id: 1 }]);
    const { client } = pair();
    await expect(client.ping()).resolves.toBeUndefined();
  });

  test('refuses a stream id that goes backwards or has the wrong parity', async () => {
    const peer = rawPeer(true);
    peer.conn.on('stream', (s) => s.reply());
    peer.send(peer.enc.synStream({ streamId: 5, headers: {} }));
    peer.send(peer.enc.synStream({ streamId: 3, headers: {} }));
    peer.send(peer.enc.synStream({ streamId: 8, headers: {} }));
    await tick();
    expect(peer.frames.map((f) => [f.type, 'streamId' in f ? f.streamId : 0])).toEqual([
      ['syn_reply', 5],
      ['rst_stream', 3],
      ['rst_stream', 8],
    ]);
  });

  test('refuses streams beyond maxStreams until some close', async () => {
    const [a, b] = duplexPair();
    const client = new SpdyConnection(a, { server: false });
    const server = new SpdyConnection(b, { server: true, maxStreams: 2 });
    server.on('stream', (s) => s.reply());
    const first = await client.openStream({});
    await client.openStream({});
    await expect(client.openStream({})).rejects.toThrow(/refused/);
    first.reset();
    await tick();
    await expect(client.openStream({})).resolves.toBeDefined();
  });

  test('ignores SETTINGS and WINDOW_UPDATE, and GOAWAY ends every stream’s input', async () => {
    const peer = rawPeer(true);
    const got: SpdyStream[] = [];
    peer.conn.on('stream', (s) => {
      got.push(s);
      s.reply();
    });
    const goaway = new Promise<void>((r) => peer.conn.once('goaway', () => r()));
    peer.send(peer.enc.settings([{ id: 7, value: 1 }]));
    peer.send(peer.enc.synStream({ streamId: 1, headers: { streamtype: ['stdin'] } }));
    peer.send(peer.enc.windowUpdate(1, 10));
    peer.send(peer.enc.data(1, Buffer.from('partial'), false));
    peer.send(peer.enc.goAway(0));
    await goaway;
    expect(await read(got[0]!)).toBe('partial');
  });

  test('a protocol error answers GOAWAY(PROTOCOL_ERROR) and closes', async () => {
    const peer = rawPeer(true);
    const closed = new Promise<Error | undefined>((r) => peer.conn.once('close', r));
    peer.send(Buffer.from('8002000600000004000000', 'hex'));
    peer.send(Buffer.from('01', 'hex'));
    expect(String(await closed)).toMatch(/version 2/);
    expect(peer.frames).toEqual([{ type: 'goaway', lastGoodStreamId: 0, status: 1 }]);
  });

  test('stops reading while a stream holds more than its limit unread, and resumes when it is read', async () => {
    const [a, b] = duplexPair();
    const server = new SpdyConnection(a, { server: true, streamReadLimit: 100_000 });
    let stream: SpdyStream | undefined;
    server.on('stream', (s) => {
      stream = s;
      s.reply();
    });
    const enc = new FrameEncoder();
    b.write(enc.synStream({ streamId: 1, headers: {} }));
    for (let i = 0; i < 20; i++) b.write(enc.data(1, Buffer.alloc(50_000), i === 19));
    await tick();
    await tick();
    expect(stream!.readableLength).toBeLessThan(200_000);
    expect(a.isPaused()).toBe(true);
    expect((await read(stream!)).length).toBe(1_000_000);
  });

  test('close() says GOAWAY and ends the transport; the connection closes when the peer does', async () => {
    const { client, server } = pair();
    await client.openStream({ streamtype: ['error'] });
    const goaway = new Promise<void>((r) => client.once('goaway', () => r()));
    const clientClosed = new Promise((r) => client.once('close', r));
    server.close();
    await goaway;
    await clientClosed;
    expect(client.closed).toBe(true);
  });
});
