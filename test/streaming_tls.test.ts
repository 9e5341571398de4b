// The streaming server with TLS (streaming.tls_cert_file/tls_key_file): our
// client verifying the certificate, and crictl (which skips verification
// unless given --tls-ca) over https and wss.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from '../pkg/config/config';
import { silentLogger } from '../pkg/log/logger';
import { CriServer } from '../pkg/server/server';
import { versionHandler } from '../pkg/server/version';
import { PortForwardClient, spdyRemoteCommand, wsRemoteCommand } from '../pkg/streaming/testing/client';
import { StreamingServer } from '../pkg/streaming/server';
import { LocalProcessBackend } from '../pkg/streaming/testing/local_backend';
import { testBaseDir } from './harness/paths';
import { CRICTL, crictlTest } from './harness/crictl';

const backend = new LocalProcessBackend();
let server: StreamingServer;
let dir: string;
let ca: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(testBaseDir(), 'streaming-tls-'));
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=krill-streaming', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  ca = readFileSync(cert);
  backend.startContainer('ctr', ['sleep', '600']);
  server = await StreamingServer.start({
    config: { ...defaultConfig().streaming, address: '127.0.0.1', port: 0, tls_cert_file: cert, tls_key_file: key },
    backend,
    log: silentLogger(),
  });
});

afterAll(async () => {
  await server.stop();
  await backend.stopAll();
  rmSync(dir, { recursive: true, force: true });
});

const execUrl = (cmd: string[]): string => server.register('exec', { containerId: 'ctr', cmd, tty: false, stdin: false, stdout: true, stderr: true });

function read(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString()));
  });
}

test('URLs are https', () => {
  expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  expect(execUrl(['true'])).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]{22}$/);
});

test.each([
  ['SPDY', spdyRemoteCommand],
  ['WebSocket', wsRemoteCommand],
] as const)('exec over %s with a verified certificate', async (_name, open) => {
  const s = await open(execUrl(['sh', '-c', 'echo secure; exit 2']), { stdout: true, stderr: true }, undefined, { ca });
  const out = read(s.stdout);
  read(s.stderr);
  expect((await s.done).exitCode).toBe(2);
  expect(await out).toBe('secure\n');
});

test('a client that does not trust the certificate cannot connect', async () => {
  await expect(spdyRemoteCommand(execUrl(['true']), { stdout: true, stderr: true })).rejects.toThrow(/self.signed|certificate/i);
});

test('port-forward tunnelled in wss', async () => {
  const { createServer } = await import('node:net');
  const hello = createServer((s) => s.end('over tls\n'));
  const port = await new Promise<number>((r) => hello.listen(0, '127.0.0.1', () => r((hello.address() as { port: number }).port)));
  try {
    const pf = await PortForwardClient.dial(server.register('portforward', { podSandboxId: 'p', port: [] }), 'websocket', { ca });
    const c = await pf.connect(port);
    expect(await read(c.data)).toBe('over tls\n');
    pf.close();
  } finally {
    await new Promise((r) => hello.close(r));
  }
});

crictlTest('crictl exec over https and wss', async () => {
  const socket = join(dir, 'cri.sock');
  const cri = new CriServer({
    log: silentLogger(),
    // crictl 1.34 (cri-client) checks the image service with ImageFsInfo before any command.
    imageService: { imageFsInfo: async () => ({ imageFilesystems: [], containerFilesystems: [] }) },
    runtimeService: { version: versionHandler('test'), exec: async (req) => ({ url: server.register('exec', req) }) },
  });
  await cri.listen(socket);
  try {
    for (const transport of ['spdy', 'websocket']) {
      const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn(CRICTL, ['--runtime-endpoint', `unix://${socket}`, 'exec', '--transport', transport, 'ctr', 'echo', 'tls ok'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        p.stdout.on('data', (c: Buffer) => (out += c.toString()));
        p.on('close', (code) => resolve({ code, out }));
      });
      expect(r).toEqual({ code: 0, out: 'tls ok\n' });
    }
  } finally {
    await cri.shutdown(1000);
  }
});
