// kubectl logs, exec, attach, cp and port-forward: through the API server,
// kubelet and Krill's streaming server.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Background,
  HTTPD,
  Namespace,
  TESTBED,
  apply,
  containerStatus,
  getPod,
  kubectl,
  kubectlRaw,
  pod,
  shContainer,
  waitFor,
  waitPodReady,
} from './harness/kube';

const MINUTE = 60_000;
const ns = new Namespace('streaming');

beforeAll(async () => {
  await ns.create();
  await apply(
    ns.name,
    pod('ticker', { containers: [shContainer('main', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.5; done')] }),
    pod('shell', { containers: [shContainer('main', 'sleep 3600')] }),
    pod('crasher', { containers: [shContainer('main', 'echo "run started"; while [ ! -f /tmp/crash ]; do sleep 0.2; done; echo "last words"; exit 1')] }),
    pod('attachable', { containers: [shContainer('main', 'echo ready; while read l; do echo "got $l"; done; sleep 3600', { stdin: true })] }),
    pod('web', { containers: [{ name: 'web', image: HTTPD, imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 80 }] }] }),
  );
  for (const p of ['ticker', 'shell', 'crasher', 'attachable', 'web']) await waitPodReady(ns.name, p);
}, 4 * MINUTE);
afterAll(() => ns.cleanup(), 4 * MINUTE);

describe('kubectl logs', () => {
  test('prints the log, follows it with -f, stamps lines with --timestamps', async () => {
    await waitFor('two ticks', async () => (await kubectl(['-n', ns.name, 'logs', 'ticker'])).includes('tick 1'));
    const stamped = (await kubectl(['-n', ns.name, 'logs', 'ticker', '--timestamps', '--tail=2'])).trim().split('\n');
    expect(stamped).toHaveLength(2);
    for (const l of stamped) {
      const [ts, ...rest] = l.split(' ');
      expect(ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
      expect(Math.abs(Date.parse(ts) - Date.now())).toBeLessThan(MINUTE);
      expect(rest.join(' ')).toMatch(/^tick \d+$/);
    }
    const f = Background.kubectl(['-n', ns.name, 'logs', '-f', 'ticker', '--tail=1']);
    try {
      const first = Number((await f.waitOutput('the first followed line', /tick (\d+)/))[1]);
      // New lines arrive while following.
      await f.waitOutput('a later line', new RegExp(`tick ${first + 3}\\b`), MINUTE);
      expect(f.exited).toBe(false);
    } finally {
      await f.stop();
    }
  }, 3 * MINUTE);

  test('--previous shows the log of the container before its restart', async () => {
    await kubectl(['-n', ns.name, 'exec', 'crasher', '--', 'touch', '/tmp/crash']);
    await waitFor('the crasher to restart', async () => {
      const s = containerStatus(await getPod(ns.name, 'crasher'), 'main');
      return s && s.restartCount >= 1 && s.state.running;
    }, 2 * MINUTE);
    const prev = await kubectl(['-n', ns.name, 'logs', 'crasher', '--previous']);
    expect(prev).toBe('run started\nlast words\n');
    await waitFor('the new run\'s log', async () => (await kubectl(['-n', ns.name, 'logs', 'crasher'])) === 'run started\n');
  }, 3 * MINUTE);
});

describe('kubectl exec', () => {
  test('runs a command with stdout, stderr, stdin and its exit code', async () => {
    const r = await kubectlRaw(['-n', ns.name, 'exec', 'shell', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(r).toMatchObject({ stdout: 'out\n', code: 7 });
    expect(r.stderr).toContain('err\n');
    const data = randomBytes(200_000).toString('base64');
    const echoed = await kubectl(['-n', ns.name, 'exec', '-i', 'shell', '--', 'sh', '-c', 'cat | wc -c'], { input: data });
    expect(Number(echoed.trim())).toBe(data.length);
  }, 2 * MINUTE);

  test('-it gives an interactive shell on a terminal (under tmux)', async () => {
    const hasTmux = spawnSync('tmux', ['-V']).status === 0;
    const session = `krill-e2e-${randomBytes(3).toString('hex')}`;
    const kubectlBin = join(TESTBED.bin, 'kubectl');
    if (hasTmux) {
      execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '120', '-y', '40',
        `KUBECONFIG=${TESTBED.kubeconfig} ${kubectlBin} -n ${ns.name} exec -it shell -- sh`]);
      const pane = (): string => execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
      try {
        await waitFor('a prompt', async () => /[#$]\s*$/m.test(pane()), MINUTE, 200);
        execFileSync('tmux', ['send-keys', '-t', session, 'tty; echo "n=$((6*7))"; echo "size=$(stty size)"', 'Enter']);
        const out = await waitFor('the answers', async () => {
          const p = pane();
          return /^size=\d+ \d+/m.test(p) ? p : undefined;
        }, MINUTE, 200);
        expect(out).toMatch(/^\/dev\/pts\/\d+/m);
        expect(out).toMatch(/^n=42/m);
        expect(out).toMatch(/^size=40 120/m); // the terminal size reached the container
        execFileSync('tmux', ['send-keys', '-t', session, 'exit', 'Enter']);
        await waitFor('the session to end', async () => spawnSync('tmux', ['has-session', '-t', session]).status !== 0, MINUTE, 200);
      } finally {
        spawnSync('tmux', ['kill-session', '-t', session]);
      }
    } else {
      // No tmux: script(1) gives kubectl a pty.
      const out = execFileSync('script', ['-qec', `${kubectlBin} -n ${ns.name} exec -it shell -- sh -c 'tty; echo n=$((6*7))'`, '/dev/null'], {
        encoding: 'utf8', env: { ...process.env, KUBECONFIG: TESTBED.kubeconfig }, input: '',
      });
      expect(out).toMatch(/\/dev\/pts\/\d+/);
      expect(out).toContain('n=42');
    }
  }, 3 * MINUTE);
});

test('kubectl attach reaches the container\'s stdin and stdout', async () => {
  const a = Background.kubectl(['-n', ns.name, 'attach', '-i', 'attachable']);
  try {
    // Attach may start before the stream is set up: send until an answer comes.
    await waitFor('an echo through attach', async () => {
      if (a.exited) throw new Error(`kubectl attach exited: ${a.err}`);
      a.write('hello\n');
      return /got hello/.test(a.out);
    }, MINUTE, 1000);
  } finally {
    await a.stop();
  }
  // The container's own log has it too.
  expect(await kubectl(['-n', ns.name, 'logs', 'attachable'])).toContain('got hello');
}, 2 * MINUTE);

test('kubectl cp copies a file into a container and back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'krill-e2e-cp-'));
  try {
    const src = join(dir, 'in.bin');
    const data = randomBytes(300_000);
    writeFileSync(src, data);
    await kubectl(['-n', ns.name, 'cp', src, 'shell:/tmp/in.bin', '-c', 'main']);
    expect((await kubectl(['-n', ns.name, 'exec', 'shell', '--', 'wc', '-c', '/tmp/in.bin'])).trim()).toMatch(/^300000 /);
    await kubectl(['-n', ns.name, 'exec', 'shell', '--', 'sh', '-c', 'mkdir -p /tmp/d && cp /tmp/in.bin /tmp/d/copy.bin && echo note > /tmp/d/note.txt']);
    await kubectl(['-n', ns.name, 'cp', 'shell:/tmp/d', join(dir, 'back'), '-c', 'main']);
    expect(readFileSync(join(dir, 'back/copy.bin')).equals(data)).toBe(true);
    expect(readFileSync(join(dir, 'back/note.txt'), 'utf8')).toBe('note\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 2 * MINUTE);

test('kubectl port-forward carries parallel connections', async () => {
  const pf = Background.kubectl(['-n', ns.name, 'port-forward', 'pod/web', ':80']);
  try {
    const port = Number((await pf.waitOutput('the forwarded port', /Forwarding from 127\.0\.0\.1:(\d+) -> 80/))[1]);
    const get = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 30_000 }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(`${res.statusCode} ${body}`));
        });
        req.on('error', reject).on('timeout', () => req.destroy(new Error('timed out')));
        req.end();
      });
    const bodies = await Promise.all(Array.from({ length: 16 }, () => get()));
    for (const b of bodies) expect(b).toMatch(/^200 .*krill-test httpd/s);
    // And again, after those closed.
    expect(await get()).toMatch(/^200 /);
  } finally {
    await pf.stop();
  }
}, 2 * MINUTE);
