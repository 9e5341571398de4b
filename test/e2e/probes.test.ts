// Liveness, readiness and startup probes of each kind (exec through Krill's
// ExecSync; httpGet and tcpSocket from kubelet into the pod's network).
import {
  BUSYBOX,
  HTTPD,
  Namespace,
  apply,
  containerStatus,
  getJson,
  getPod,
  kubectl,
  pod,
  shContainer,
  waitFor,
  waitPodReady,
} from './harness/kube';

const MINUTE = 60_000;
const ns = new Namespace('probes');
beforeAll(() => ns.create(), 2 * MINUTE);
afterAll(() => ns.cleanup(), 4 * MINUTE);

const fast = { periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 2, successThreshold: 1 };

/** Waits for container `c` of pod `name` to be restarted by its liveness probe. */
async function waitLivenessRestart(name: string, c: string): Promise<void> {
  await waitFor(`${name}/${c} to be restarted`, async () => {
    const s = containerStatus(await getPod(ns.name, name), c);
    return s && s.restartCount >= 1;
  }, 2 * MINUTE);
  const events = await kubectl(['-n', ns.name, 'get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
  expect(events).toMatch(/Liveness probe failed/);
  expect(events).toMatch(/failed liveness probe, will be restarted/);
}

describe('liveness probes restart the container when they fail', () => {
  test('exec', async () => {
    await apply(ns.name, pod('live-exec', {
      containers: [shContainer('main', 'touch /tmp/healthy; sleep 3600', {
        livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, ...fast },
      })],
    }));
    await waitPodReady(ns.name, 'live-exec');
    // Healthy for a while: no restart.
    await waitFor('a few passing probes', async () => {
      const s = containerStatus(await getPod(ns.name, 'live-exec'), 'main');
      return s && s.state.running && Date.now() - Date.parse(s.state.running.startedAt) > 5000;
    }, MINUTE);
    expect(containerStatus(await getPod(ns.name, 'live-exec'), 'main')!.restartCount).toBe(0);
    await kubectl(['-n', ns.name, 'exec', 'live-exec', '--', 'rm', '/tmp/healthy']);
    await waitLivenessRestart('live-exec', 'main');
  }, 4 * MINUTE);

  test('httpGet', async () => {
    await apply(ns.name, pod('live-http', {
      containers: [{
        name: 'web', image: HTTPD, imagePullPolicy: 'IfNotPresent',
        livenessProbe: { httpGet: { path: '/index.html', port: 80 }, ...fast },
      }],
    }));
    await waitPodReady(ns.name, 'live-http');
    await kubectl(['-n', ns.name, 'exec', 'live-http', '--', 'rm', '/www/index.html']);
    await waitLivenessRestart('live-http', 'web');
  }, 4 * MINUTE);

  test('tcpSocket', async () => {
    await apply(ns.name, pod('live-tcp', {
      containers: [shContainer('main', 'httpd -p 8080 -h /tmp; while [ ! -f /tmp/stop ]; do sleep 0.2; done; killall httpd; sleep 3600', {
        livenessProbe: { tcpSocket: { port: 8080 }, ...fast },
      })],
    }));
    await waitPodReady(ns.name, 'live-tcp');
    await kubectl(['-n', ns.name, 'exec', 'live-tcp', '--', 'touch', '/tmp/stop']);
    await waitLivenessRestart('live-tcp', 'main');
  }, 4 * MINUTE);
});

test('readiness probes of each kind gate the container\'s readiness and the Service endpoints', async () => {
  const labels = { app: 'ready' };
  await apply(
    ns.name,
    pod('ready', {
      containers: [
        shContainer('exec', 'sleep 3600', { readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, ...fast } }),
        shContainer('http', 'mkdir /www; httpd -f -p 8081 -h /www', { readinessProbe: { httpGet: { path: '/ready.html', port: 8081 }, ...fast } }),
        shContainer('tcp', 'while [ ! -f /tmp/listen ]; do sleep 0.2; done; httpd -f -p 8082 -h /tmp', { readinessProbe: { tcpSocket: { port: 8082 }, ...fast } }),
      ],
    }, { labels }),
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ready' }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8081 }] } },
  );
  await waitPodPhaseRunning('ready');
  const readiness = async (): Promise<Record<string, boolean>> => {
    const p = await getPod(ns.name, 'ready');
    return Object.fromEntries(['exec', 'http', 'tcp'].map((c) => [c, containerStatus(p, c)!.ready as boolean]));
  };
  const endpointReady = async (): Promise<boolean | undefined> => {
    const slices = await getJson(ns.name, 'endpointslices', '-l', 'kubernetes.io/service-name=ready');
    const eps = (slices.items as any[]).flatMap((s) => s.endpoints ?? []);
    return eps.length === 0 ? undefined : eps.every((e: any) => e.conditions?.ready === true);
  };
  // Running, no probe passes: nothing ready, the endpoint is not ready.
  await waitFor('the pod to be Running with a not-ready endpoint', async () => (await endpointReady()) === false, MINUTE);
  expect(await readiness()).toEqual({ exec: false, http: false, tcp: false });

  await kubectl(['-n', ns.name, 'exec', 'ready', '-c', 'exec', '--', 'touch', '/tmp/ready']);
  await waitFor('exec readiness', async () => (await readiness()).exec, MINUTE);
  await kubectl(['-n', ns.name, 'exec', 'ready', '-c', 'http', '--', 'sh', '-c', 'echo ok > /www/ready.html']);
  await waitFor('httpGet readiness', async () => (await readiness()).http, MINUTE);
  expect((await readiness()).tcp).toBe(false);
  expect(await endpointReady()).toBe(false);
  await kubectl(['-n', ns.name, 'exec', 'ready', '-c', 'tcp', '--', 'touch', '/tmp/listen']);
  await waitFor('tcpSocket readiness', async () => (await readiness()).tcp, MINUTE);
  await waitFor('the endpoint to be ready', async () => (await endpointReady()) === true, MINUTE);

  // Readiness failing again takes the endpoint out; no restart.
  await kubectl(['-n', ns.name, 'exec', 'ready', '-c', 'exec', '--', 'rm', '/tmp/ready']);
  await waitFor('the endpoint to be not ready again', async () => (await endpointReady()) === false, MINUTE);
  const p = await getPod(ns.name, 'ready');
  for (const c of ['exec', 'http', 'tcp']) expect(containerStatus(p, c)!.restartCount).toBe(0);
}, 5 * MINUTE);

async function waitPodPhaseRunning(name: string): Promise<void> {
  await waitFor(`${name} to be Running`, async () => (await getPod(ns.name, name)).status?.phase === 'Running', 2 * MINUTE);
}

describe('startup probes', () => {
  test('hold liveness and readiness back until they pass', async () => {
    await apply(ns.name, pod('startup', {
      containers: [shContainer('main', 'sleep 3600', {
        startupProbe: { exec: { command: ['cat', '/tmp/started'] }, periodSeconds: 1, failureThreshold: 600 },
        // Would fail (and restart the container) if it ran before the startup probe passed.
        livenessProbe: { exec: { command: ['cat', '/tmp/started'] }, ...fast },
        readinessProbe: { exec: { command: ['true'] }, ...fast },
      })],
    }));
    await waitPodPhaseRunning('startup');
    const s0 = await waitFor('a few startup probe runs', async () => {
      const s = containerStatus(await getPod(ns.name, 'startup'), 'main');
      return s && s.state.running && Date.now() - Date.parse(s.state.running.startedAt) > 5000 ? s : undefined;
    }, MINUTE);
    expect(s0).toMatchObject({ started: false, ready: false, restartCount: 0 });
    await kubectl(['-n', ns.name, 'exec', 'startup', '--', 'touch', '/tmp/started']);
    const s1 = await waitFor('started and ready', async () => {
      const s = containerStatus(await getPod(ns.name, 'startup'), 'main');
      return s && s.started && s.ready ? s : undefined;
    }, MINUTE);
    expect(s1.restartCount).toBe(0);
  }, 3 * MINUTE);

  test('restart the container when they keep failing', async () => {
    await apply(ns.name, pod('startup-fail', {
      containers: [{ name: 'main', image: BUSYBOX, command: ['sleep', '3600'], startupProbe: { tcpSocket: { port: 9 }, periodSeconds: 1, failureThreshold: 3 } }],
    }));
    await waitFor('the restart', async () => (containerStatus(await getPod(ns.name, 'startup-fail'), 'main')?.restartCount ?? 0) >= 1, 2 * MINUTE);
    const events = await kubectl(['-n', ns.name, 'get', 'events', '--field-selector', 'involvedObject.name=startup-fail', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
    expect(events).toMatch(/Startup probe failed/);
  }, 3 * MINUTE);
});
