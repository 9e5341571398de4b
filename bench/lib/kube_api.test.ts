import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKubeconfig } from './kube_api';

describe('readKubeconfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    for (const f of ['ca.crt', 'admin.crt', 'admin.key']) writeFileSync(join(dir, f), `contents of ${f}`);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the server and the certificate files a test bed kubeconfig names', () => {
    const file = join(dir, 'kubeconfig');
    writeFileSync(
      file,
      `apiVersion: v1\nclusters:\n- name: t\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority: ${dir}/ca.crt\nusers:\n- name: u\n  user:\n    client-certificate: ${dir}/admin.crt\n    client-key: ${dir}/admin.key\n`,
    );
    const c = readKubeconfig(file);
    expect(c.server.port).toBe('6443');
    expect(c.ca.toString()).toBe('contents of ca.crt');
    expect(c.cert.toString()).toBe('contents of admin.crt');
    expect(c.key.toString()).toBe('contents of admin.key');
  });

  it('names the field a kubeconfig lacks', () => {
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, 'clusters:\n- cluster:\n    server: https://127.0.0.1:6443\n');
    expect(() => readKubeconfig(file)).toThrow(/no certificate-authority/);
  });
});
