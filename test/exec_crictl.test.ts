// crictl (cri-tools v1.34) against a real krilld: exec -s, exec -it under tmux (prompt,
// typing, resize, exit code), exec over WebSocket, attach -it, and
// port-forward to busybox httpd in a pod. crictl comes from test/harness/crictl.ts
// (make test builds it); the same paths are covered with Krill's own client in
// streaming_krilld.test.ts.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { ContainerState } from '../api/runtime/v1/api';
import { EXEC_SYNC_OUTPUT_BUDGET } from '../pkg/runtime/exec_output';
import { testImage, waitExited } from './harness/containers';
import { containerFixture, type ContainerFixture, type TestPod } from './harness/ctr_fixture';
import { until } from './harness/krilld';
import { CRICTL, crictlDescribe, HAVE_CRICTL } from './harness/crictl';

const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;
if (HAVE_CRICTL && !HAVE_TMUX) console.warn('exec_crictl: the -it tests are skipped, tmux is not installed');
const maybe = crictlDescribe;
const maybeTmux = HAVE_CRICTL && HAVE_TMUX ? describe : describe.skip;

const IMAGE = testImage('httpd');
const HTTPD_BODY = '<html><body><h1>krill-test httpd</h1></body></html>\n';

let f: ContainerFixture;
let pod: TestPod;
let shell: string;
let crictlConfig: string;
const children = new Set<ChildProcess>();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function crictlArgs(args: string[]): string[] {
  return ['--config', crictlConfig, '--runtime-endpoint', `unix://${f.k.socket}`, '--image-endpoint', `unix://${f.k.socket}`, ...args];
}

function crictl(args: string[], stdin?: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(CRICTL, crictlArgs(args), { stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(p);
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`crictl ${args.join(' ')} timed out; stderr=${JSON.stringify(stderr)}`));
    }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      children.delete(p);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr });
    });
    p.stdin.end(stdin ?? '');
  });
}

/** One tmux server (on a socket under the test's directory) with one session running a command. */
class Tmux {
  private readonly socket: string;
  private readonly exitFile: string;

  constructor(
    dir: string,
    private readonly name: string,
  ) {
    this.socket = join(dir, `tmux-${name}.sock`);
    this.exitFile = join(dir, `tmux-${name}.exit`);
  }

  private tmux(args: string[]): string {
    const r = spawnSync('tmux', ['-S', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** Runs `argv` in a detached cols x rows session; its exit status is recorded when it ends. */
  start(argv: string[], cols: number, rows: number): void {
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    this.tmux(['new-session', '-d', '-s', this.name, '-x', String(cols), '-y', String(rows), `${quoted}; echo $? > ${this.exitFile}; sleep 600`]);
  }

  /** Types `text` literally (then Enter unless told otherwise). */
  type(text: string, enter = true): void {
    this.tmux(['send-keys', '-t', this.name, '-l', text]);
    if (enter) this.tmux(['send-keys', '-t', this.name, 'Enter']);
  }

  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.name, ...keys]);
  }

  resize(cols: number, rows: number): void {
    this.tmux(['resize-window', '-t', this.name, '-x', String(cols), '-y', String(rows)]);
  }

  screen(): string {
    return this.tmux(['capture-pane', '-p', '-J', '-t', this.name, '-S', '-200']);
  }

  async waitFor(pattern: RegExp, what = String(pattern)): Promise<RegExpExecArray> {
    for (let i = 0; ; i++) {
      const m = pattern.exec(this.screen());
      if (m) return m;
      if (i > 150) throw new Error(`${what} never showed:\n${this.screen()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async exitCode(): Promise<number> {
    for (let i = 0; ; i++) {
      if (existsSync(this.exitFile)) {
        const text = readFileSync(this.exitFile, 'utf8').trim();
        if (text) return Number(text);
      }
      if (i > 150) throw new Error(`the command did not end:\n${this.screen()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  kill(): void {
    spawnSync('tmux', ['-S', this.socket, 'kill-server']);
  }
}

const tmuxes: Tmux[] = [];
function tmux(name: string): Tmux {
  const t = new Tmux(f.k.dir, name);
  tmuxes.push(t);
  return t;
}

maybe('crictl against krilld', () => {
  beforeAll(async () => {
    f = await containerFixture('crictl-exec', [IMAGE]);
    crictlConfig = join(f.k.dir, 'crictl.yaml');
    writeFileSync(crictlConfig, 'timeout: 30\n');
    pod = await f.pod();
    shell = await pod.start('shell', IMAGE, { command: ['sleep', '3600'] });
  });

  afterAll(async () => {
    for (const t of tmuxes) t.kill();
    for (const c of children) c.kill('SIGKILL');
    await f?.cleanup();
  });

  describe('exec -s (ExecSync)', () => {
    test('stdout and stderr (crictl prints both on its stdout, each with a newline)', async () => {
      const r = await crictl(['exec', '-s', shell, 'sh', '-c', 'echo out; echo err >&2']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('out\n\nerr\n\n');
    });

    test('a non-zero exit code: crictl fails naming it, with the stderr', async () => {
      const r = await crictl(['exec', '-s', shell, 'sh', '-c', 'echo out; echo bad-thing >&2; exit 3']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/exited with 3: bad-thing/);
    });

    test('output past the cap reaches crictl cut, with the note (crictl, like kubelet, takes at most 16 MiB)', async () => {
      const r = await crictl(['exec', '-s', shell, 'sh', '-c', 'yes 0123456789abcdef | head -c 20000000']);
      expect(r.code).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(EXEC_SYNC_OUTPUT_BUDGET - 512);
      expect(r.stdout.startsWith('0123456789abcdef\n0123456789abcdef\n')).toBe(true);
      expect(r.stdout).toMatch(/\n\[krill: output truncated: \d+ bytes of stdout dropped; [^\]]*\]\n\n$/);
    });

    test('--timeout: the command is killed and crictl says the deadline passed', async () => {
      const r = await crictl(['exec', '-s', '--timeout', '1', shell, 'sleep', '4341']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/DeadlineExceeded|timed out|deadline/i);
      const ps = await pod.exec(shell, ['ps', '-o', 'args']);
      expect(ps.stdout).not.toContain('sleep 4341');
    });
  });

  describe.each(['spdy', 'websocket'])('exec --transport %s', (transport) => {
    test('stdout and stderr apart, stdin with -i, exit code', async () => {
      const r = await crictl(['exec', '-i', '--transport', transport, shell, 'sh', '-c', 'cat; echo err >&2; exit 4'], 'from stdin\n');
      expect(r.stdout).toBe('from stdin\n');
      expect(r.stderr).toContain('err\n');
      expect(r.stderr).toContain('command terminated with exit code 4');
    });

    test('a background child holding stdout does not hold crictl', async () => {
      const r = await crictl(['exec', '--transport', transport, shell, 'sh', '-c', 'sleep 4342 & echo "bg $!"']);
      expect(r.code).toBe(0);
      const pid = /^bg (\d+)\n$/.exec(r.stdout)?.[1];
      expect(pid).toBeDefined();
      await pod.exec(shell, ['kill', pid!]);
    });
  });

  maybeTmux.each(['spdy', 'websocket'])('exec -it --transport %s under tmux', (transport) => {
    test('a shell prompt, typing, resize, Ctrl-C and the exit code', async () => {
      const t = tmux(`exec-${transport}`);
      t.start([CRICTL, ...crictlArgs(['exec', '-it', '--transport', transport, shell, 'sh'])], 120, 40);
      await t.waitFor(/\/ # $/m, 'the shell prompt');
      t.type('stty size; echo "typed-$((6*7))"');
      await t.waitFor(/^40 120\s*\n.*typed-42/ms, 'the terminal size 40x120');
      t.resize(100, 30);
      // The new size travels tmux → crictl (SIGWINCH) → krilld → conmon: ask until it shows.
      for (let i = 0; ; i++) {
        t.type(`stty size; echo "probe-${i}"`);
        const m = await t.waitFor(new RegExp(`^(\\d+ \\d+)\\s*\\nprobe-${i}\\s*$`, 'm'), `probe ${i}`);
        if (m[1] === '30 100') break;
        if (i > 30) throw new Error(`the terminal stayed ${m[1]}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // Ctrl-C once the command runs (sent earlier it would only clear the line), and it must end the command.
      const sleeping = async (): Promise<boolean> => (await pod.exec(shell, ['sh', '-c', 'ps | grep -q "[s]leep 4343"'])).exitCode === 0;
      t.type('sleep 4343');
      await until('sleep 4343 to run', sleeping);
      t.keys('C-c');
      await until('Ctrl-C to end sleep 4343', async () => !(await sleeping()));
      t.type('echo "after-ctrl-c"');
      await t.waitFor(/^after-ctrl-c\s*$/m, 'the shell after Ctrl-C');
      t.type('exit 7');
      // crictl exits 1 and names the command's exit code.
      expect(await t.exitCode()).toBe(1);
      expect(t.screen()).toContain('command terminated with exit code 7');
      t.kill();
    });
  });

  /** Types `echo "<word>-$((i+base))"` once a second until any such answer shows, for up to 60 s. */
  async function typeUntilAnswered(t: Tmux, word: string, base: number, failure: string): Promise<void> {
    const answered = new RegExp(`^${word}-\\d+\\s*$`, 'm');
    const deadline = Date.now() + 60_000;
    for (let i = 0; ; i++) {
      t.type(`echo "${word}-$((${i}+${base}))"`);
      for (const end = Date.now() + 1000; Date.now() < end; ) {
        if (answered.test(t.screen())) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      if (Date.now() > deadline) throw new Error(`${failure}:\n${t.screen()}`);
    }
  }

  maybeTmux.each(['spdy', 'websocket'])('attach -it --transport %s under tmux', (transport) => {
    test('typing reaches the container’s shell; leaving does not stop it; exit does', async () => {
      const id = await pod.start(`att-${transport}`, IMAGE, { command: ['sh'], tty: true, stdin: true, stdinOnce: false });
      const t1 = tmux(`attach1-${transport}`);
      t1.start([CRICTL, ...crictlArgs(['attach', '-it', '--transport', transport, id])], 110, 35);
      // The prompt was printed before anyone attached: type until the shell answers (any of the tries: a slow
      // answer to an early one counts), under a generous deadline.
      await typeUntilAnswered(t1, 'att', 1000, 'the attached shell never answered');
      t1.type('stty size');
      await t1.waitFor(/^35 110\s*$/m, 'the terminal size 35x110');
      // The client goes away (its terminal closes): the container carries on.
      t1.kill();
      await new Promise((r) => setTimeout(r, 300));
      expect((await pod.status(id)).state).toBe(ContainerState.CONTAINER_RUNNING);
      const t2 = tmux(`attach2-${transport}`);
      t2.start([CRICTL, ...crictlArgs(['attach', '-it', '--transport', transport, id])], 110, 35);
      await typeUntilAnswered(t2, 'again', 2000, 'the shell did not answer a second attach');
      t2.type('exit 3');
      expect(await waitExited(f.client, id)).toMatchObject({ exitCode: 3 });
      expect(await t2.exitCode()).toBe(0);
      t2.kill();
      await f.client.runtime.removeContainer({ containerId: id });
    });
  });

  describe.each(['spdy', 'websocket'])('port-forward --transport %s', (transport) => {
    test('to busybox httpd in the pod: two concurrent requests', async () => {
      const httpd = await pod.start(`httpd-${transport}`, IMAGE, {});
      // Another container of the pod shares its network: the port is the pod's, whoever serves it.
      const p = spawn(CRICTL, crictlArgs(['port-forward', '--transport', transport, pod.id, '0:80']), { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(p);
      let stderr = '';
      p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      try {
        const local = await new Promise<number>((resolve, reject) => {
          let out = '';
          p.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 80/.exec(out);
            if (m) resolve(Number(m[1]));
          });
          p.once('exit', () => reject(new Error(`crictl port-forward exited: ${stderr}`)));
        });
        const get = (): Promise<{ status: number; body: string }> =>
          new Promise((resolve, reject) => {
            const req = request({ host: '127.0.0.1', port: local, path: '/', agent: false }, (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            });
            req.on('error', reject);
            req.end();
          });
        const results = await Promise.all([get(), get()]);
        expect(results).toEqual([
          { status: 200, body: HTTPD_BODY },
          { status: 200, body: HTTPD_BODY },
        ]);
        expect(await get()).toEqual({ status: 200, body: HTTPD_BODY });
      } finally {
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGINT');
        await exited;
        children.delete(p);
      }
      expect(stderr).not.toMatch(/error/i);
      await f.client.runtime.stopContainer({ containerId: httpd, timeout: 0n });
      await f.client.runtime.removeContainer({ containerId: httpd });
    });
  });
});
