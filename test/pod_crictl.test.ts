// crictl against krilld, as an operator debugging a node would use it:
// runp, pods (with filters), inspectp, statsp, stopp, rmp.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startKrilld, type Krilld } from './harness/krilld';
import { testCgroupParent } from './harness/paths';
import { uniqueName, removeAllPods } from './harness/pods';
import { CRICTL, crictlDescribe } from './harness/crictl';

crictlDescribe('crictl', () => {
  let k: Krilld;
  let crictlConfig: string;
  const crictl = (...args: string[]): string =>
    execFileSync(CRICTL, ['--config', crictlConfig, '-r', `unix://${k.socket}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  beforeAll(async () => {
    k = await startKrilld();
    crictlConfig = join(k.dir, 'crictl.yaml');
    writeFileSync(crictlConfig, 'timeout: 30\ndebug: false\n');
  });
  afterAll(async () => {
    await removeAllPods(k.client);
    await k.cleanup();
  });

  test('runp, pods with filters, inspectp, statsp, stopp, rmp', () => {
    const name = uniqueName('cli');
    const podFile = join(k.dir, `${name}.json`);
    writeFileSync(podFile, JSON.stringify({
      metadata: { name, namespace: 'crictl-test', uid: `uid-${name}`, attempt: 1 },
      hostname: name,
      labels: { app: 'cli', run: name },
      dns_config: { servers: ['10.96.0.10'], options: ['ndots:2'] },
      linux: { cgroup_parent: testCgroupParent(name), security_context: { namespace_options: { pid: 1 } } },
    }));
    const id = crictl('runp', podFile).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);

    const quiet = (...filters: string[]): string[] => crictl('pods', '-q', ...filters).trim().split('\n').filter(Boolean);
    expect(quiet('--name', name)).toEqual([id]);
    expect(quiet('--namespace', 'crictl-test', '--label', `run=${name}`)).toEqual([id]);
    expect(quiet('--id', id.slice(0, 10))).toEqual([id]);
    expect(quiet('--state', 'ready', '--label', `run=${name}`)).toEqual([id]);
    expect(quiet('--state', 'notready', '--label', `run=${name}`)).toEqual([]);
    expect(quiet('--label', 'run=someone-else')).toEqual([]);
    expect(crictl('pods', '--name', name)).toMatch(new RegExp(`${id.slice(0, 13)}\\s+.*Ready\\s+${name}\\s+crictl-test\\s+1\\s+\\(default\\)`));

    const inspect = JSON.parse(crictl('inspectp', id.slice(0, 12))) as {
      status: { id: string; state: string; network: { ip: string }; metadata: { name: string } };
      info: { paths: { resolvConf: string }; namespaces: { network: string } };
    };
    expect(inspect.status).toMatchObject({ id, state: 'SANDBOX_READY', metadata: { name } });
    expect(inspect.status.network.ip).not.toBe('');
    expect(inspect.info.namespaces.network).toContain(id);

    const stats = JSON.parse(crictl('statsp', '-o', 'json', '--id', id)) as { stats: { attributes: { id: string }; linux: { network: { defaultInterface: { name: string } } } }[] };
    expect(stats.stats.map((s) => s.attributes.id)).toEqual([id]);
    expect(stats.stats[0]!.linux.network.defaultInterface.name).toBe('eth0');

    expect(crictl('stopp', id)).toContain(`Stopped sandbox ${id}`);
    expect(quiet('--state', 'notready', '--label', `run=${name}`)).toEqual([id]);
    expect(crictl('rmp', id)).toContain(`Removed sandbox ${id}`);
    expect(quiet('--label', `run=${name}`)).toEqual([]);
  });

  test('rmp -f removes a running pod', () => {
    const name = uniqueName('clif');
    const podFile = join(k.dir, `${name}.json`);
    writeFileSync(podFile, JSON.stringify({
      metadata: { name, namespace: 'crictl-test', uid: `uid-${name}` },
      linux: { cgroup_parent: testCgroupParent(name), security_context: { namespace_options: { pid: 1 } } },
    }));
    const id = crictl('runp', podFile).trim();
    expect(crictl('rmp', '-f', id)).toContain(`Removed sandbox ${id}`);
    expect(crictl('pods', '-q', '--id', id).trim()).toBe('');
  });
});
