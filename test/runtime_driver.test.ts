// The runtime driver (pkg/runtime) against real conmon and runc/crun, with
// bundles made by `runc spec` and busybox-static (not by Krill's OCI builder).
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { KrillError } from '../pkg/errors/errors';
import { helperBinary } from '../pkg/version/install';
import { handlersFromConfig, OciRuntime } from '../pkg/runtime/runtime';
import type { RuntimeContainer } from '../pkg/runtime/interface';
import type { ExitInfo } from '../pkg/runtime/types';
import { DirectLauncher } from '../pkg/spawn/launcher';
import { defaultConfig } from '../pkg/config/config';
import { newId } from '../pkg/util/id';
import { removeTestCgroups } from './harness/cgroups';
import { testBaseDir, testCgroupParent } from './harness/paths';
import { makeBundle } from './harness/rootfs';

let dir: string;
let rt: OciRuntime;
const runc = 'runc';
const cgroupParent = testCgroupParent('driver');
const created: RuntimeContainer[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(testBaseDir(), 'rt-'));
  const config = defaultConfig();
  config.state = join(dir, 'state');
  const handlers = handlersFromConfig(config);
  rt = await OciRuntime.open({
    launcher: new DirectLauncher(),
    conmon: config.runtime.conmon,
    handlers,
    defaultHandler: 'runc',
    dirs: { persistRoot: join(dir, 'root', 'containers'), stateRoot: join(dir, 'state') },
    attachHelper: helperBinary('krill-seqpacket'),
    execHelper: helperBinary('krill-exec'),
  });
  await rt.recover();
});

afterAll(async () => {
  for (const c of created) await rt.delete(c).catch(() => undefined);
  rt.close();
  removeTestCgroups(cgroupParent);
  rmSync(dir, { recursive: true, force: true });
});

interface CreateOpts {
  env?: string[];
  terminal?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
}

async function createContainer(args: string[], handler = runc, opts: CreateOpts = {}) {
  const id = newId();
  const bundle = join(dir, 'bundles', id);
  makeBundle(bundle, { args, cgroupsPath: `${cgroupParent}/${id}`, env: opts.env, terminal: opts.terminal });
  const logPath = join(dir, 'logs', `${id}.log`);
  const ref: RuntimeContainer = { id, handler, bundle };
  created.push(ref);
  const { pid } = await rt.create({
    ...ref, logPath, terminal: opts.terminal ?? false, stdin: opts.stdin ?? false, stdinOnce: opts.stdinOnce ?? false,
  });
  return { id, bundle, logPath, pid, ref };
}

/** The container's exit, as soon as its monitor records it. */
function waitExit(id: string, ms = 10_000): Promise<ExitInfo> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no exit of ${id} within ${ms} ms`)), ms);
    const check = (): void => {
      void rt.exit(id).then((e) => e && done(undefined, e));
    };
    const unwatch = rt.onExit((exited) => exited === id && check());
    const done = (err?: Error, e?: ExitInfo): void => {
      clearTimeout(timer);
      unwatch();
      if (e) resolve(e);
      else reject(err);
    };
    check();
  });
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (b: Buffer) => chunks.push(b));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function logLines(path: string): { stream: string; tag: string; text: string }[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [, stream, tag, text] = /^\S+ (stdout|stderr) ([PF]) (.*)$/.exec(l) ?? [];
      return { stream: stream!, tag: tag!, text: text ?? '' };
    });
}

test('create, start, exit code and the CRI log', async () => {
  const c = await createContainer(['sh', '-c', 'echo out; echo err >&2; exit 7']);
  expect(c.pid).toBeGreaterThan(0);
  expect(await rt.state(c.ref)).toMatchObject({ status: 'created', pid: c.pid });
  await rt.start(c.ref);
  const exit = await waitExit(c.id);
  expect(exit).toMatchObject({ exitCode: 7, oomKilled: false });
  expect(exit!.finishedAt).toBeGreaterThan(BigInt(Date.now() - 60_000) * 1_000_000n);
  expect(logLines(c.logPath)).toEqual(
    expect.arrayContaining([
      { stream: 'stdout', tag: 'F', text: 'out' },
      { stream: 'stderr', tag: 'F', text: 'err' },
    ]),
  );
  await rt.delete(c.ref);
  expect(await rt.state(c.ref)).toBeUndefined();
  expect(await rt.exit(c.id)).toBeUndefined();
});

test('a missing command fails create with the runtime message', async () => {
  const err = await createContainer(['/no/such/binary']).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(KrillError);
  expect((err as Error).message).toMatch(/no such file or directory|not found/i);
});

describe('a running container', () => {
  let c: Awaited<ReturnType<typeof createContainer>>;
  let proc: Record<string, unknown>;
  const exec = (cmd: string[], timeoutMs = 10_000) => rt.execSync(c.ref, { process: proc, cmd, timeoutMs });
  beforeAll(async () => {
    c = await createContainer(['sleep', '3600'], runc, { env: ['GREETING=hello'] });
    proc = JSON.parse(readFileSync(join(c.bundle, 'config.json'), 'utf8')).process;
    await rt.start(c.ref);
  });

  test('is running', async () => {
    expect(await rt.state(c.ref)).toMatchObject({ status: 'running' });
    expect(await rt.exit(c.id)).toBeUndefined();
  });

  test('ExecSync returns stdout, stderr and the exit code, with the container env', async () => {
    const r = await exec(['sh', '-c', 'echo $GREETING; echo oops >&2; exit 3']);
    expect(r.stdout.toString()).toBe('hello\n');
    expect(r.stderr.toString()).toBe('oops\n');
    expect(r.exitCode).toBe(3);
  });

  test('ExecSync of a missing binary reports the runtime error', async () => {
    const r = await exec(['/nope']);
    expect(r.exitCode).toBe(127);
    expect(r.stderr.toString()).toMatch(/no such file|not found/i);
  });

  test('ExecSync timeout kills the command and says DeadlineExceeded', async () => {
    const started = Date.now();
    await expect(exec(['sleep', '30'], 1000)).rejects.toMatchObject({ code: 'DeadlineExceeded' });
    expect(Date.now() - started).toBeLessThan(10_000);
    const ps = await exec(['ps', '-o', 'args']);
    expect(ps.stdout.toString()).not.toContain('sleep 30');
  });

  test('ExecSync returns when the command exits even if a background child holds stdout', async () => {
    const started = Date.now();
    const r = await exec(['sh', '-c', 'sleep 20 & echo done'], 30_000);
    expect(r.stdout.toString()).toBe('done\n');
    expect(Date.now() - started).toBeLessThan(5_000);
    await exec(['pkill', 'sleep 20']).catch(() => undefined);
  });

  test('ExecSync output without a final newline and on both streams', async () => {
    const r = await exec(['sh', '-c', 'printf a; printf b >&2; printf c']);
    expect(r.stdout.toString()).toBe('ac');
    expect(r.stderr.toString()).toBe('b');
  });

  test('ExecSync keeps large output intact', async () => {
    const r = await exec(['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" a'], 30_000);
    expect(r.stdout.length).toBe(3_000_000);
    expect(r.truncated).toBe(false);
  });

  test('reopening the log works while conmon runs: the file is back when it returns', async () => {
    renameSync(c.logPath, `${c.logPath}.1`);
    await expect(rt.reopenLog(c.ref, c.logPath)).resolves.toBeUndefined();
    expect(existsSync(c.logPath)).toBe(true);
  });

  test('stop: SIGTERM is ignored by pid 1 sleep, so SIGKILL follows after the timeout', async () => {
    const started = Date.now();
    const exit = await rt.stop(c.ref, 'TERM', 1000);
    expect(exit.exitCode).toBe(137);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await rt.state(c.ref)).toMatchObject({ status: 'stopped' });
    // a second stop is a no-op with the same record
    await expect(rt.stop(c.ref, 'TERM', 1000)).resolves.toMatchObject({ exitCode: 137 });
    await expect(rt.reopenLog(c.ref, c.logPath)).rejects.toMatchObject({ code: 'FailedPrecondition' });
    await rt.delete(c.ref);
    await rt.delete(c.ref); // idempotent
    expect(existsSync(join(dir, 'root', 'containers', c.id))).toBe(false);
  });
});

test('crun runs a container too', async () => {
  const crun = 'crun';
  const c = await createContainer(['sh', '-c', 'echo from-crun'], crun);
  await rt.start(c.ref);
  expect(await waitExit(c.id)).toMatchObject({ exitCode: 0 });
  expect(logLines(c.logPath)).toContainEqual({ stream: 'stdout', tag: 'F', text: 'from-crun' });
  await rt.delete(c.ref);
});

describe('attach through conmon', () => {
  test('stdin reaches the container, stdout and stderr come back apart; stdin_once ends it', async () => {
    const c = await createContainer(['sh', '-c', 'cat; echo bye >&2'], runc, { stdin: true, stdinOnce: true });
    await rt.start(c.ref);
    const stdin = new PassThrough();
    const out = collect();
    const err = collect();
    const session = rt.attach(c.ref, { stdin, stdout: out.stream, stderr: err.stream });
    stdin.write('hello\n');
    await until(() => out.text() === 'hello\n');
    stdin.end();
    expect(await waitExit(c.id)).toMatchObject({ exitCode: 0 });
    await session.done;
    expect(err.text()).toBe('bye\n');
    await rt.delete(c.ref);
  });

  test('a detaching client leaves a container without stdin_once running', async () => {
    const c = await createContainer(['cat'], runc, { stdin: true, stdinOnce: false });
    await rt.start(c.ref);
    const stdin = new PassThrough();
    const out = collect();
    const s1 = rt.attach(c.ref, { stdin, stdout: out.stream });
    stdin.write('one\n');
    await until(() => out.text() === 'one\n');
    s1.close();
    await s1.done;
    await new Promise((r) => setTimeout(r, 300));
    expect(await rt.state(c.ref)).toMatchObject({ status: 'running' });
    await rt.stop(c.ref, 'KILL', 0);
    await rt.delete(c.ref);
  });

  test('a terminal: input echoes, resize is applied, exit ends the session', async () => {
    const c = await createContainer(['sh'], runc, { terminal: true, stdin: true, stdinOnce: true });
    await rt.start(c.ref);
    const stdin = new PassThrough();
    const out = collect();
    const session = rt.attach(c.ref, { stdin, stdout: out.stream });
    await rt.resize(c.ref, 123, 45);
    stdin.write('stty size\r');
    await until(() => out.text().includes('45 123'));
    stdin.write('exit 4\r');
    expect(await waitExit(c.id)).toMatchObject({ exitCode: 4 });
    await session.done;
    await rt.delete(c.ref);
  });
});

describe('streaming exec', () => {
  let c: Awaited<ReturnType<typeof createContainer>>;
  let proc: Record<string, unknown>;
  beforeAll(async () => {
    c = await createContainer(['sleep', '3600']);
    proc = JSON.parse(readFileSync(join(c.bundle, 'config.json'), 'utf8')).process;
    await rt.start(c.ref);
  });
  afterAll(async () => {
    await rt.stop(c.ref, 'KILL', 0);
    await rt.delete(c.ref);
  });

  test('without a terminal: stdin in, stdout and stderr apart, exit code', async () => {
    const stdin = new PassThrough();
    const out = collect();
    const err = collect();
    const s = await rt.exec(c.ref, { process: proc, cmd: ['sh', '-c', 'cat; echo e >&2; exit 5'], tty: false, io: { stdin, stdout: out.stream, stderr: err.stream } });
    stdin.end('piped\n');
    expect(await s.done).toEqual({ exitCode: 5 });
    expect(out.text()).toBe('piped\n');
    expect(err.text()).toBe('e\n');
  });

  test('with a terminal: resize, typed input, Ctrl-C reaches the process', async () => {
    const stdin = new PassThrough();
    const out = collect();
    const s = await rt.exec(c.ref, { process: proc, cmd: ['sh'], tty: true, io: { stdin, stdout: out.stream } });
    await s.resize(100, 30);
    stdin.write('stty size\r');
    await until(() => out.text().includes('30 100'));
    stdin.write('sleep 100\r');
    await new Promise((r) => setTimeout(r, 300));
    stdin.write('\x03');
    stdin.write('echo after-$?\r');
    await until(() => out.text().includes('after-130'));
    stdin.write('exit 3\r');
    expect(await s.done).toEqual({ exitCode: 3 });
  });

  test('output of a command that exits at once is not lost', async () => {
    const out = collect();
    const s = await rt.exec(c.ref, { process: proc, cmd: ['echo', 'quick'], tty: false, io: { stdout: out.stream } });
    expect(await s.done).toEqual({ exitCode: 0 });
    expect(out.text()).toBe('quick\n');
  });

  test('a missing command fails with the runtime message', async () => {
    const out = collect();
    const s = await rt.exec(c.ref, { process: proc, cmd: ['/nope'], tty: false, io: { stdout: out.stream } });
    await expect(s.done).rejects.toThrow(/no such file|not found/i);
  });
});
