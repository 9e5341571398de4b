// krilld under a Type=notify systemd unit (deploy/systemd/krilld.service):
// READY=1 once it serves, STOPPING=1 when SIGTERM begins a stop, sent as unix
// datagrams to $NOTIFY_SOCKET. This machine runs no systemd, so the test binds
// the datagram socket itself (socat: Node.js cannot bind one) and reads what
// arrives.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startKrilld, type Krilld } from './harness/krilld';
import { testBaseDir } from './harness/paths';

interface Receiver {
  path: string;
  /** Everything received so far: the messages, each ending with a newline. */
  text(): string;
  close(): Promise<void>;
}

async function bindReceiver(dir: string): Promise<Receiver> {
  const path = join(dir, 'notify.sock');
  const proc: ChildProcess = spawn('socat', ['-u', `UNIX-RECV:${path}`, 'STDOUT'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let received = '';
  proc.stdout!.on('data', (b: Buffer) => (received += b.toString('utf8')));
  for (let i = 0; !existsSync(path); i++) {
    if (i > 100 || proc.exitCode !== null) throw new Error('socat did not bind the notify socket');
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    path,
    text: () => received,
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text ? text.split(/\s+/).map(Number) : [];
}

describe('krilld with NOTIFY_SOCKET', () => {
  let dir: string;
  let receiver: Receiver;
  let k: Krilld | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(testBaseDir(), 'notify-'));
    receiver = await bindReceiver(dir);
  });
  afterAll(async () => {
    await k?.cleanup();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('READY=1 arrives once the CRI socket serves, naming krilld as the main process', async () => {
    k = await startKrilld({ env: { NOTIFY_SOCKET: receiver.path } });
    await waitFor('READY=1', () => receiver.text().includes('READY=1\n'));
    const lines = receiver.text().split('\n');
    expect(lines).toEqual(expect.arrayContaining(['READY=1', `STATUS=serving on ${k.socket}`, `MAINPID=${k.pid()}`]));
    expect(receiver.text()).not.toContain('STOPPING=1');
    // It came after serving: the socket answers.
    await expect(k.client.runtime.version({ version: '' })).resolves.toMatchObject({ runtimeName: 'krill' });
    expect(k.logs()).toContainEqual(expect.objectContaining({ msg: 'notified systemd', sent: expect.arrayContaining(['READY=1']) }));
  });

  test('no child of krilld inherits NOTIFY_SOCKET (runc would hand it to containers)', () => {
    const children = childrenOf(k!.pid());
    expect(children.length).toBeGreaterThan(0); // the spawn server at least
    for (const pid of children) {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      expect(env.filter((e) => e.startsWith('NOTIFY_SOCKET='))).toEqual([]);
    }
  });

  test('the admin Restart is a reload to systemd: RELOADING=1, then READY=1 from the same pid, never STOPPING=1; NOTIFY_SOCKET still kept from children', async () => {
    const pid = k!.pid();
    const before = receiver.text().length;
    await k!.client.admin.restart({});
    await waitFor('READY=1 again', () => receiver.text().slice(before).includes('READY=1\n'), 60_000);
    const after = receiver.text().slice(before);
    expect(after.indexOf('RELOADING=1')).toBeGreaterThanOrEqual(0);
    expect(after.indexOf('RELOADING=1')).toBeLessThan(after.indexOf('READY=1'));
    expect(after).not.toContain('STOPPING=1');
    expect(after.split('\n')).toContain(`MAINPID=${pid}`);
    expect(k!.pid()).toBe(pid);
    await expect(k!.client.runtime.version({ version: '' })).resolves.toMatchObject({ runtimeName: 'krill' });
    for (const child of childrenOf(pid)) {
      const env = readFileSync(`/proc/${child}/environ`, 'utf8').split('\0');
      expect(env.filter((e) => e.startsWith('NOTIFY_SOCKET='))).toEqual([]);
    }
  });

  test('SIGTERM sends STOPPING=1 before krilld exits 0', async () => {
    const before = receiver.text().length;
    expect(await k!.stop()).toBe(0);
    await waitFor('STOPPING=1', () => receiver.text().slice(before).includes('STOPPING=1\n'), 2000);
    expect(receiver.text().slice(before).split('\n')).toEqual(expect.arrayContaining(['STOPPING=1', expect.stringMatching(/^STATUS=stopping/)]));
    expect(receiver.text().indexOf('READY=1')).toBeLessThan(receiver.text().indexOf('STOPPING=1'));
  });
});

describe('krilld with a NOTIFY_SOCKET nobody listens on', () => {
  let k: Krilld | undefined;
  afterAll(async () => k?.cleanup());

  test('still serves, and says it could not notify', async () => {
    k = await startKrilld({ env: { NOTIFY_SOCKET: join(testBaseDir(), 'nobody-listens.sock') } });
    await expect(k.client.runtime.version({ version: '' })).resolves.toMatchObject({ runtimeName: 'krill' });
    await waitFor('the warning', () => k!.logs().some((l) => l.msg === 'could not notify systemd'), 5000);
    expect(await k.stop()).toBe(0);
  });
});
