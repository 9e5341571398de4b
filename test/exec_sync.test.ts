// ExecSync through a real krilld (conmon's exec mode, runc): exit codes,
// stdout and stderr apart, the timeout, large and capped output, a background
// child that keeps stdout open, a container that is not running, and 200
// calls from 20 concurrent clients against 10 containers.
import { createHash } from 'node:crypto';
import { connectCri, grpc, type CriClient } from '../pkg/criclient/client';
import { EXEC_SYNC_OUTPUT_BUDGET } from '../pkg/runtime/exec_sync';
import { testImage, waitExited } from './harness/containers';
import { containerFixture, type ContainerFixture, type TestPod } from './harness/ctr_fixture';

const IMAGE = testImage('httpd');

let f: ContainerFixture;
let pod: TestPod;
let ctr: string;

beforeAll(async () => {
  f = await containerFixture('execsync', [IMAGE]);
  // A shared pid namespace, as kubelet's pods and critest's have by default.
  pod = await f.pod({ sharePid: true });
  ctr = await pod.start('main', IMAGE, { command: ['sleep', '3600'] });
});

afterAll(async () => {
  await f?.cleanup();
});

function execSync(cmd: string[], timeout = 30, client: CriClient = f.client) {
  return client.runtime.execSync({ containerId: ctr, cmd, timeout: BigInt(timeout) });
}

/** The container's processes (its pod shares one pid namespace), zombies included: pgrep would count them. */
async function processes(): Promise<{ pid: string; state: string; args: string }[]> {
  const script = 'for p in /proc/[0-9]*; do echo "${p#/proc/} $(awk \'/^State/{print $2}\' $p/status) $(tr "\\0" " " < $p/cmdline)"; done';
  const r = await execSync(['sh', '-c', script]);
  return r.stdout
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pid, state, ...args] = l.split(' ');
      return { pid: pid!, state: state!, args: args.join(' ').trim() };
    });
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('exit codes and streams', () => {
  test.each([0, 1, 3, 42, 255])('exit %i', async (code) => {
    const r = await execSync(['sh', '-c', `exit ${code}`]);
    expect(r.exitCode).toBe(code);
  });

  test('stdout and stderr stay apart, each in order', async () => {
    const r = await execSync(['sh', '-c', 'echo one; echo err-one >&2; echo two; echo err-two >&2; exit 7']);
    expect(r.stdout.toString()).toBe('one\ntwo\n');
    expect(r.stderr.toString()).toBe('err-one\nerr-two\n');
    expect(r.exitCode).toBe(7);
  });

  test('binary output and output without a final newline come back byte for byte', async () => {
    const r = await execSync(['sh', '-c', "printf 'a\\000b\\377c\\r\\nno newline'"]);
    expect(r.stdout).toEqual(Buffer.from('a\u0000b\u00ffc\r\nno newline', 'latin1'));
  });

  test('a command that is not there: 127 and a message, as a shell would', async () => {
    const r = await execSync(['/no/such/binary']);
    expect(r.exitCode).toBe(127);
    expect(r.stderr.toString()).toMatch(/no such file|not found/i);
  });

  test('a killed command reports 128 + the signal', async () => {
    const r = await execSync(['sh', '-c', 'kill -9 $$']);
    expect(r.exitCode).toBe(137);
  });

  test('the command runs with the container’s environment and working directory', async () => {
    const r = await execSync(['sh', '-c', 'echo "$PATH"; pwd']);
    expect(r.stdout.toString()).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/\n');
  });
});

describe('timeout', () => {
  test('a command that outlives its timeout is killed and the call says DeadlineExceeded', async () => {
    await expect(execSync(['sleep', '4321'], 1)).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    // The killed command is gone, reaped: no zombie left for someone else to reap (critest checks at once too).
    const after = await processes();
    expect(after.filter((p) => p.args.includes('sleep 4321') || p.state === 'Z')).toEqual([]);
  });

  test('a timed-out shell goes with its children', async () => {
    await expect(execSync(['sh', '-c', 'sleep 4325; echo never'], 1)).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    let left: unknown[] = ['?'];
    for (let i = 0; i < 50 && left.length > 0; i++) {
      left = (await processes()).filter((p) => p.args.includes('sleep 4325') || p.state === 'Z');
      if (left.length > 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(left).toEqual([]);
  });

  test('a client that gives up (its gRPC deadline passes) takes the command with it', async () => {
    await expect(
      f.client.runtime.execSync({ containerId: ctr, cmd: ['sleep', '4324'], timeout: 0n }, { timeoutMs: 1500 }),
    ).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    // krilld learns of the cancellation asynchronously: wait for the command to go, within reason.
    let left: unknown[] = ['?'];
    for (let i = 0; i < 50 && left.length > 0; i++) {
      left = (await processes()).filter((p) => p.args.includes('sleep 4324') || p.state === 'Z');
      if (left.length > 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(left).toEqual([]);
  });

  test('timeout 0 means no timeout', async () => {
    const r = await execSync(['sh', '-c', 'sleep 1; echo done'], 0);
    expect(r).toMatchObject({ exitCode: 0 });
    expect(r.stdout.toString()).toBe('done\n');
  });

  test('a negative timeout is InvalidArgument', async () => {
    await expect(f.client.runtime.execSync({ containerId: ctr, cmd: ['true'], timeout: -1n })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining('timeout'),
    });
  });
});

describe('background children', () => {
  test('a child left holding stdout does not hold the call: it returns with the main process', async () => {
    // Were the call to wait for the child, it would run into its own timeout instead.
    const r = await execSync(['sh', '-c', 'sleep 4322 & echo "started $!"'], 20);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toMatch(/^started \d+\n$/);
    // The child lives on in the container, as it would after `docker exec`.
    expect((await processes()).filter((p) => p.args.includes('sleep 4322'))).toHaveLength(1);
    expect((await execSync(['kill', r.stdout.toString().split(' ')[1]!.trim()])).exitCode).toBe(0);
  });

  test('output the child wrote before the main process exited is kept', async () => {
    const r = await execSync(['sh', '-c', '(echo from-child; exec sleep 4323) & sleep 0.2; echo "from-main $!"'], 20);
    expect(r.stdout.toString()).toMatch(/^from-child\nfrom-main \d+\n$/);
    expect((await execSync(['kill', r.stdout.toString().split(' ')[1]!.trim()])).exitCode).toBe(0);
  });
});

describe('large output', () => {
  test('several megabytes on each stream arrive whole', async () => {
    // seq 1 700000 is 4.8 MB; stderr gets a different 3 MB.
    const r = await execSync(['sh', '-c', 'seq 1 700000; seq 1000000 1400000 >&2']);
    const expectedOut = Buffer.from(Array.from({ length: 700000 }, (_, i) => `${i + 1}\n`).join(''));
    const expectedErr = Buffer.from(Array.from({ length: 400001 }, (_, i) => `${i + 1000000}\n`).join(''));
    expect(r.stdout.length).toBe(expectedOut.length);
    expect(sha256(r.stdout)).toBe(sha256(expectedOut));
    expect(sha256(r.stderr)).toBe(sha256(expectedErr));
    expect(r.exitCode).toBe(0);
  });

  test('output past the cap is cut at it, and stderr says so; the response fits kubelet’s 16 MiB', async () => {
    // 24 MiB of a known pattern on stdout, a little on stderr.
    const r = await execSync(['sh', '-c', 'echo before >&2; yes 0123456789abcdef | head -c 25165824; echo after >&2']);
    expect(r.exitCode).toBe(0);
    const note = /\[krill: output truncated: (\d+) bytes of stdout dropped; .*\]\n$/;
    const stderr = r.stderr.toString();
    expect(stderr).toMatch(note);
    expect(stderr.replace(note, '')).toBe('before\nafter\n');
    expect(Number(note.exec(stderr)![1])).toBe(25165824 - r.stdout.length);
    const line = '0123456789abcdef\n';
    const whole = line.repeat(Math.ceil(r.stdout.length / line.length)).slice(0, r.stdout.length);
    expect(r.stdout.toString() === whole).toBe(true);
    // All of the budget is used, and a whole response stays within what kubelet (and crictl) accept.
    expect(r.stdout.length + r.stderr.length).toBeLessThanOrEqual(EXEC_SYNC_OUTPUT_BUDGET);
    expect(r.stdout.length + r.stderr.length).toBeGreaterThan(EXEC_SYNC_OUTPUT_BUDGET - 256);
    expect(EXEC_SYNC_OUTPUT_BUDGET).toBeLessThan(16 * 1024 * 1024 - 1024);
  });

  test('when both streams overflow, each keeps half of the budget', async () => {
    const r = await execSync(['sh', '-c', 'yes out | head -c 12000000; yes err | head -c 12000000 >&2']);
    const stderr = r.stderr.toString();
    const note = /\[krill: output truncated: (\d+) bytes of stdout and (\d+) bytes of stderr dropped; .*\]\n$/;
    const m = note.exec(stderr)!;
    expect(m).not.toBeNull();
    expect(Number(m[1])).toBe(12000000 - r.stdout.length);
    const keptErr = stderr.slice(0, 12000000 - Number(m[2]));
    expect(keptErr.length).toBe(r.stdout.length);
    expect(r.stdout.length).toBeGreaterThan(EXEC_SYNC_OUTPUT_BUDGET / 2 - 256);
    expect(r.stdout.subarray(0, 8).toString()).toBe('out\nout\n');
    expect(keptErr.startsWith('err\nerr\n')).toBe(true);
    expect(r.stdout.length + r.stderr.length).toBeLessThanOrEqual(EXEC_SYNC_OUTPUT_BUDGET);
  });
});

describe('errors', () => {
  test('an unknown container is NotFound', async () => {
    await expect(f.client.runtime.execSync({ containerId: 'f'.repeat(64), cmd: ['true'], timeout: 5n })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  test('an empty command is InvalidArgument naming cmd', async () => {
    await expect(execSync([])).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringContaining('cmd') });
  });

  test('a container that has exited gets a clear FailedPrecondition', async () => {
    const id = await pod.start('exits', IMAGE, { command: ['true'] });
    await waitExited(f.client, id);
    await expect(f.client.runtime.execSync({ containerId: id, cmd: ['true'], timeout: 5n })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: expect.stringMatching(/not running.*exited/),
    });
    await f.client.runtime.removeContainer({ containerId: id });
  });

  test('a container created and not started gets FailedPrecondition too', async () => {
    const id = await pod.create('created', IMAGE, { command: ['sleep', '60'] });
    await expect(f.client.runtime.execSync({ containerId: id, cmd: ['true'], timeout: 5n })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: expect.stringMatching(/not running.*created/),
    });
    await f.client.runtime.removeContainer({ containerId: id });
  });
});

test('200 calls from 20 concurrent clients against 10 containers all succeed', async () => {
  const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => pod.start(`load-${i}`, IMAGE, { command: ['sleep', '3600'] })));
  const clients = Array.from({ length: 20 }, () => connectCri(f.k.socket));
  try {
    const failures: string[] = [];
    let ok = 0;
    await Promise.all(
      clients.map(async (client, c) => {
        for (let n = 0; n < 10; n++) {
          const containerId = ids[(c + n) % ids.length]!;
          const tag = `client-${c}-call-${n}`;
          try {
            const r = await client.runtime.execSync({ containerId, cmd: ['sh', '-c', `echo ${tag}; echo ${tag} >&2; exit ${n}`], timeout: 60n });
            if (r.exitCode === n && r.stdout.toString() === `${tag}\n` && r.stderr.toString() === `${tag}\n`) ok++;
            else failures.push(`${tag}: exit ${r.exitCode} stdout ${JSON.stringify(r.stdout.toString())} stderr ${JSON.stringify(r.stderr.toString())}`);
          } catch (err) {
            failures.push(`${tag}: ${(err as Error).message}`);
          }
        }
      }),
    );
    expect(failures).toEqual([]);
    expect(ok).toBe(200);
  } finally {
    for (const c of clients) c.close();
  }
  await Promise.all(ids.map((id) => f.client.runtime.stopContainer({ containerId: id, timeout: 0n })));
  await Promise.all(ids.map((id) => f.client.runtime.removeContainer({ containerId: id })));
});
