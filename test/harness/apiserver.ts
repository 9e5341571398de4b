// A real, private Kubernetes control plane for tests of the node agent's API
// side: etcd and kube-apiserver from the test bed's build (`hack/testbed build`,
// which `make test` runs), on free loopback ports and a temp dir of this run,
// with a static admin token. No kubelet, no controllers: the tests create the
// Node object themselves. Tests that need it use `apiserverDescribe`, which
// skips when the binaries are absent (a strict run then fails, as for crictl).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TESTBED_BIN } from './crictl';
import { until } from './krilld';
import { testBaseDir } from './paths';

const execFileP = promisify(execFile);
const BINARIES = ['etcd', 'kube-apiserver', 'kubectl'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export const HAVE_APISERVER = BINARIES.every((b) => executable(join(TESTBED_BIN, b)));
export const APISERVER_MISSING = `etcd, kube-apiserver or kubectl missing in ${TESTBED_BIN}: run \`hack/testbed build\` (make test does)`;
if (!HAVE_APISERVER) console.warn(`API server tests skipped: ${APISERVER_MISSING}`);
export const apiserverDescribe: jest.Describe = HAVE_APISERVER ? describe : describe.skip;

export interface ApiServer {
  dir: string;
  kubeconfig: string;
  kubectl(args: string[], input?: string): Promise<string>;
  /** `kubectl get ... -o json`, parsed. */
  get<T = Record<string, unknown>>(args: string[]): Promise<T>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startApiServer(): Promise<ApiServer> {
  const dir = mkdtempSync(join(testBaseDir(), 'api-'));
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  await execFileP('openssl', ['genrsa', '-out', join(dir, 'sa.key'), '2048']);
  await execFileP('openssl', ['rsa', '-in', join(dir, 'sa.key'), '-pubout', '-out', join(dir, 'sa.pub')]);
  writeFileSync(join(dir, 'tokens.csv'), 'krill-test-admin,admin,admin,system:masters\n');
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: t, cluster: {server: "https://127.0.0.1:${apiPort}", insecure-skip-tls-verify: true}}]\n` +
      `users: [{name: admin, user: {token: krill-test-admin}}]\ncontexts: [{name: t, context: {cluster: t, user: admin}}]\ncurrent-context: t\n`,
  );
  const log = createWriteStream(join(dir, 'control-plane.log'));
  const run = (bin: string, args: string[]): ChildProcess => {
    const child = spawn(join(TESTBED_BIN, bin), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    return child;
  };
  const etcd = run('etcd', [
    '--name', 'krill-test', '--data-dir', join(dir, 'etcd'),
    '--listen-client-urls', `http://127.0.0.1:${etcdClient}`, '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
    '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
    '--initial-cluster', `krill-test=http://127.0.0.1:${etcdPeer}`,
  ]);
  const apiserver = run('kube-apiserver', [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`, `--secure-port=${apiPort}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
    '--endpoint-reconciler-type=none', `--cert-dir=${join(dir, 'certs')}`, `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=AlwaysAllow', '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${join(dir, 'sa.pub')}`, `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.254.0.0/24',
  ]);
  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const child = execFile(join(TESTBED_BIN, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 << 20 });
    if (input !== undefined) child.stdin!.end(input);
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')}: exit ${code}: ${err}`))));
    });
  };
  const stop = async (): Promise<void> => {
    await stopChild(apiserver);
    await stopChild(etcd);
    await new Promise<void>((r) => log.end(() => r()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until('kube-apiserver ready', () => kubectl(['get', '--raw', '/readyz']).then(() => true, () => false), 120_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, kubeconfig, kubectl, get: async (args) => JSON.parse(await kubectl([...args, '-o', 'json'])), stop };
}
