// The chart under both Helm majors of the test bed (helm = v3, helm4 = v4): `helm lint --strict`
// passes, `helm template` renders what the agent needs, and the values schema and the chart's own
// checks refuse bad values. No cluster objects are made here (agent.test.ts installs it).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/paths';
import { TESTBED } from './harness/kube';

const CHART = join(REPO_ROOT, 'deploy/charts/krill');
const TESTBED_VALUES = join(CHART, 'values-testbed.yaml');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
function helm(bin: string, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(join(TESTBED.bin, bin), args, { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 120_000, env: { ...process.env, KUBECONFIG: TESTBED.kubeconfig, HELM_CACHE_HOME: '/tmp/krill-e2e-helm/cache', HELM_CONFIG_HOME: '/tmp/krill-e2e-helm/config', HELM_DATA_HOME: '/tmp/krill-e2e-helm/data' } },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

/** The documents of a multi-document YAML stream, as kind/name → text (enough to check fields by regexp). */
function docs(yaml: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of yaml.split(/^---$/m)) {
    const kind = /^kind: (\S+)$/m.exec(d)?.[1];
    const name = /^metadata:\n(?:[ ].*\n)*?  name: (\S+)$/m.exec(d)?.[1];
    if (kind && name) out.set(`${kind}/${name}`, d);
  }
  return out;
}

describe.each(['helm', 'helm4'])('%s', (bin) => {
  test('lint --strict passes with the default values and with the test bed values', async () => {
    for (const extra of [[], ['-f', TESTBED_VALUES]]) {
      const r = await helm(bin, ['lint', '--strict', CHART, ...extra]);
      expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({ code: 0, out: expect.stringMatching(/0 chart\(s\) failed/) });
    }
  });

  test('template renders the agent, its RBAC, RuntimeClasses, ConfigMap, hooks; monitors only when asked', async () => {
    const r = await helm(bin, ['template', 'krill', CHART, '-n', 'krill-system', '-f', TESTBED_VALUES,
      '--set-json', 'config={"log_level":"debug","image":{"registries":{"mirror.e2e.invalid":{"mirrors":["http://127.0.0.1:5055"],"mirror_only":true}}}}']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const d = docs(r.stdout);
    expect([...d.keys()].sort()).toEqual([
      'ClusterRole/krill', 'ClusterRoleBinding/krill', 'ConfigMap/krill-config', 'DaemonSet/krill', 'Job/krill-uninstall', 'Pod/krill-test',
      'Role/krill', 'RoleBinding/krill', 'RuntimeClass/crun', 'RuntimeClass/runc', 'Service/krill-metrics', 'ServiceAccount/krill',
    ]);
    const ds = d.get('DaemonSet/krill')!;
    expect(ds).toContain('image: "127.0.0.1:5055/krill/krill-agent:testbed"');
    expect(ds).toMatch(/hostPath:\n\s+path: \/run\/krill-testbed\n\s+type: Directory/);
    expect(ds).toMatch(/hostPath:\n\s+path: \/var\/lib\/krill-testbed\/krill.d\n/);
    expect(ds).toMatch(/name: KRILL_SOCKET\n\s+value: "\/run\/krill\/krill.sock"/);
    expect(ds).toMatch(/readOnlyRootFilesystem: true/);
    expect(ds).toMatch(/drop:\n\s+- ALL/);
    expect(ds).toContain('hostNetwork: false');
    expect(ds).not.toMatch(/hostPID: true|privileged: true/);
    expect(d.get('RuntimeClass/crun')).toMatch(/handler: crun\nscheduling:\n(?:\s+#.*\n)?\s+nodeSelector:\n\s+krill.dev\/ready: "true"/);
    expect(d.get('Job/krill-uninstall')).toMatch(/helm.sh\/hook: pre-delete/);
    // The TOML the agent gets: top-level keys, then the tables, quoted keys where needed.
    expect(d.get('ConfigMap/krill-config')).toContain(
      'krill.toml: "# Rendered by the krill chart from its values (config).\\nlog_level = \\"debug\\"\\n\\n[image]\\n\\n[image.registries]\\n\\n[image.registries.\\"mirror.e2e.invalid\\"]\\nmirror_only = true\\nmirrors = [\\"http://127.0.0.1:5055\\"]\\n"');

    const mon = await helm(bin, ['template', 'krill', CHART, '--set', 'monitoring.podMonitor=true', '--set', 'monitoring.serviceMonitor=true']);
    expect(mon.code).toBe(0);
    expect([...docs(mon.stdout).keys()]).toEqual(expect.arrayContaining(['PodMonitor/krill', 'ServiceMonitor/krill']));
  });

  test('bad values are refused: by the schema, and by the chart (both config forms, krilld metrics without the host network, arrays of tables)', async () => {
    const bad: [string[], RegExp][] = [
      [['--set', 'image.pullPolicy=Sometimes'], /pullPolicy/],
      [['--set', 'krilld.socket=relative.sock'], /socket/],
      [['--set', 'agent.probeSeconds=0'], /probeSeconds/],
      [['--set', 'unknownKey=1'], /unknownKey|additional properties/i],
      [['--set', 'config.log_level=debug', '--set', 'configToml=log_level = "info"'], /set config or configToml, not both/],
      [['--set', 'krilld.metricsPort=19091', '--set', 'monitoring.podMonitor=true'], /needs hostNetwork: true/],
      [['--set-json', 'config={"runtime":{"x":[{"a":1}]}}'], /config.runtime.x: arrays of tables/],
    ];
    for (const [args, re] of bad) {
      const r = await helm(bin, ['template', 'krill', CHART, ...args]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 1, stderr: expect.stringMatching(re) });
    }
  });
});
