// A ClusterIP Service through kube-proxy, and a hostPort on 127.0.0.1.
import { request } from 'node:http';
import { HTTPD, Namespace, apply, getJson, kubectl, pod, shContainer, waitFor, waitPodReady } from './harness/kube';

const MINUTE = 60_000;
const ns = new Namespace('network');
beforeAll(() => ns.create(), 2 * MINUTE);
afterAll(() => ns.cleanup(), 4 * MINUTE);

function httpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('error', reject).on('timeout', () => req.destroy(new Error('timed out')));
    req.end();
  });
}

test('a ClusterIP Service reaches its pods through kube-proxy, from a pod and from the node', async () => {
  const labels = { app: 'web' };
  await apply(ns.name,
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: {
      replicas: 2, selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'web', image: HTTPD, ports: [{ containerPort: 80 }] }] } },
    } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'ClusterIP', selector: labels, ports: [{ port: 8080, targetPort: 80 }] } },
    pod('client', { containers: [shContainer('main', 'sleep 3600')] }),
  );
  await waitPodReady(ns.name, 'client');
  const svc = await getJson(ns.name, 'service', 'web');
  const ip = svc.spec.clusterIP as string;
  expect(ip).toMatch(/^10\.78\./);
  await waitFor('2 ready endpoints', async () => {
    const slices = await getJson(ns.name, 'endpointslices', '-l', 'kubernetes.io/service-name=web');
    return (slices.items as any[]).flatMap((s) => s.endpoints ?? []).filter((e: any) => e.conditions?.ready).length === 2;
  }, 2 * MINUTE);
  const fromPod = await waitFor('the Service from a pod', async () => {
    // (busybox 1.35's static wget crashes with -T: kubectl's own timeout bounds it.)
    const out = await kubectl(['-n', ns.name, 'exec', 'client', '--', 'wget', '-qO-', `http://${ip}:8080/`], { timeoutMs: 30_000 });
    return out.includes('krill-test httpd') ? out : undefined;
  }, MINUTE);
  expect(fromPod).toContain('krill-test httpd');
  const fromNode = await waitFor('the Service from the node', async () => {
    const out = await httpGet(ip, 8080);
    return out.startsWith('200 ') ? out : undefined;
  }, MINUTE);
  expect(fromNode).toContain('krill-test httpd');
}, 4 * MINUTE);

test('a hostPort pod answers on 127.0.0.1', async () => {
  const port = 18000 + Math.floor(Math.random() * 1000);
  await apply(ns.name, pod('hostport', { containers: [{ name: 'web', image: HTTPD, ports: [{ containerPort: 80, hostPort: port, hostIP: '127.0.0.1' }] }] }));
  await waitPodReady(ns.name, 'hostport');
  const out = await waitFor(`127.0.0.1:${port}`, async () => {
    const r = await httpGet('127.0.0.1', port);
    return r.startsWith('200 ') ? r : undefined;
  }, MINUTE);
  expect(out).toContain('krill-test httpd');
  // The port goes with the pod.
  await kubectl(['-n', ns.name, 'delete', 'pod', 'hostport', '--wait=true']);
  await expect(httpGet('127.0.0.1', port)).rejects.toThrow();
}, 3 * MINUTE);
