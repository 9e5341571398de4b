// The host side of dialPodPort (host-network pods): 127.0.0.1, then ::1.
// Dialling inside a namespace goes through the spawn server: test/spawner.test.ts
// and test/streaming_krilld.test.ts.
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { KrillError } from '../errors/errors';
import { DirectLauncher } from '../spawn/launcher';
import { dialPodPort } from './dial';

const launcher = new DirectLauncher();

const servers: Server[] = [];

function listen(host: string, port = 0): Promise<number> {
  const s = createServer((c) => c.end(`hello from ${host}`));
  servers.push(s);
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, () => resolve((s.address() as AddressInfo).port));
  });
}

function readAll(s: Duplex): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (b: Buffer) => (text += b.toString()));
    s.on('end', () => resolve(text));
  });
}

/** A port nothing listens on, on either loopback address. */
async function closedPort(): Promise<number> {
  const port = await listen('127.0.0.1');
  await new Promise((r) => servers.pop()!.close(r));
  return port;
}

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe('dialPodPort on the host network', () => {
  test('connects to 127.0.0.1', async () => {
    const port = await listen('127.0.0.1');
    expect(await readAll(await dialPodPort(launcher, undefined, port))).toBe('hello from 127.0.0.1');
  });

  test('falls back to ::1 when nothing listens on 127.0.0.1', async () => {
    const port = await closedPort();
    await listen('::1', port);
    expect(await readAll(await dialPodPort(launcher, undefined, port))).toBe('hello from ::1');
  });

  test('a closed port is Unavailable, naming both addresses', async () => {
    const port = await closedPort();
    const err = await dialPodPort(launcher, undefined, port).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KrillError);
    expect(err).toMatchObject({ code: 'Unavailable', message: `cannot connect to port ${port} on the host: connect ECONNREFUSED 127.0.0.1:${port}; connect ECONNREFUSED ::1:${port}` });
  });

  test('a port out of range is InvalidArgument; a namespace without a spawn server is Unavailable', async () => {
    await expect(dialPodPort(launcher, undefined, 0)).rejects.toMatchObject({ code: 'InvalidArgument' });
    await expect(dialPodPort(launcher, '/run/krill/ns/x/net', 80)).rejects.toMatchObject({ code: 'Unavailable', message: expect.stringContaining('only the spawn server can enter a network namespace') });
  });
});
