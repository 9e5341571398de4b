import { DirectLauncher } from '../spawn/launcher';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, utimesSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../log/logger';
import { bandwidthFromAnnotations, BandwidthError, parseQuantity } from './bandwidth';
import { addNetworkList, cniArgsString, delNetworkList, pluginStdin, type CniRuntimeArgs } from './chain';
import { CniConfigError, confDirFingerprint, parseConfText, scanConfDir, type CniConfList } from './conf';
import { defaultNetwork, trimForPod } from './default_network';
import { NetworkManager } from './manager';
import { CniPluginError, invokePlugin, pluginErrorText } from './plugin';
import { compareVersions, podIpsFromResult } from './result';
import { parsePodCidrs } from './settings';

const launcher = new DirectLauncher();

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-cni-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('config files', () => {
  test('a conflist keeps its plugins; a single conf becomes a list of one', () => {
    const list = parseConfText('{"cniVersion":"1.0.0","name":"n1","plugins":[{"type":"bridge"},{"type":"portmap","capabilities":{"portMappings":true}}]}', 'f');
    expect(list.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap']);
    const single = parseConfText('{"cniVersion":"0.4.0","name":"n2","type":"ptp","ipam":{"type":"host-local"}}', 'g');
    expect(single).toMatchObject({ name: 'n2', cniVersion: '0.4.0', disableCheck: false, plugins: [{ type: 'ptp' }] });
  });

  test('invalid configs say why', () => {
    const bad: [string, string][] = [
      ['not json', 'not valid JSON'],
      ['{"cniVersion":"1.0.0","plugins":[{"type":"x"}]}', 'name'],
      ['{"name":"a","plugins":[{"type":"x"}]}', 'cniVersion'],
      ['{"name":"a","cniVersion":"1.0.0","plugins":[]}', 'non-empty'],
      ['{"name":"a","cniVersion":"1.0.0","plugins":[{"type":"../../bin/sh"}]}', 'plugin name'],
    ];
    for (const [text, why] of bad) {
      expect(() => parseConfText(text, 'f')).toThrow(CniConfigError);
      expect(() => parseConfText(text, 'f')).toThrow(why);
    }
  });

  test('the first valid file in lexical order wins; others are ignored', async () => {
    writeFileSync(join(dir, '20-b.conflist'), '{"cniVersion":"1.0.0","name":"b","plugins":[{"type":"bridge"}]}');
    writeFileSync(join(dir, '10-a.conf'), '{broken');
    writeFileSync(join(dir, '30-c.conf'), '{"cniVersion":"1.0.0","name":"c","type":"ptp"}');
    writeFileSync(join(dir, 'README'), 'not a config');
    const scan = await scanConfDir(dir);
    expect(scan.config?.name).toBe('b');
    expect(scan.files).toEqual(['10-a.conf', '20-b.conflist', '30-c.conf']);
    expect(scan.errors).toHaveLength(1);
    expect((await scanConfDir(join(dir, 'none'))).config).toBeUndefined();
  });

  test('the fingerprint changes when a file is added or touched', async () => {
    const a = await confDirFingerprint(dir);
    writeFileSync(join(dir, '10.conf'), '{}');
    const b = await confDirFingerprint(dir);
    expect(b).not.toBe(a);
    utimesSync(join(dir, '10.conf'), new Date(1000), new Date(1000));
    expect(await confDirFingerprint(dir)).not.toBe(b);
    expect(await confDirFingerprint(join(dir, 'missing'))).toBe('missing');
  });
});

describe('plugin stdin', () => {
  const rt: CniRuntimeArgs = {
    containerId: 'c1',
    netns: '/run/ns/x',
    ifName: 'eth0',
    args: [['K8S_POD_NAME', 'p']],
    capabilities: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }], ipRanges: [[{ subnet: '10.1.0.0/24' }]] },
  };
  const list: CniConfList = { name: 'net', cniVersion: '1.0.0', disableCheck: false, plugins: [], source: 's' };

  test('only declared capabilities reach a plugin, with name, version and prevResult', () => {
    const conf = pluginStdin(list, { type: 'portmap', capabilities: { portMappings: true, bandwidth: true }, snat: true }, rt, { ips: [] });
    expect(conf).toEqual({
      type: 'portmap',
      snat: true,
      name: 'net',
      cniVersion: '1.0.0',
      capabilities: { portMappings: true, bandwidth: true },
      runtimeConfig: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] },
      prevResult: { ips: [] },
    });
    expect(pluginStdin(list, { type: 'loopback' }, rt, undefined)).toEqual({ type: 'loopback', name: 'net', cniVersion: '1.0.0' });
  });

  test('CNI_ARGS', () => {
    expect(cniArgsString([['K8S_POD_NAME', 'p'], ['K8S_POD_UID', 'u']])).toBe('IgnoreUnknown=1;K8S_POD_NAME=p;K8S_POD_UID=u');
  });

  test('the embedded default network', () => {
    const d = defaultNetwork({ bridge: 'kt1', subnets: ['10.5.0.0/24'], dataDir: '/x/networks' });
    expect(d.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap', 'bandwidth', 'loopback']);
    expect(d.plugins[0]).toMatchObject({ bridge: 'kt1', ipMasq: true, ipam: { type: 'host-local', dataDir: '/x/networks', ranges: [[{ subnet: '10.5.0.0/24' }]] } });
    expect(d.plugins[1]).toMatchObject({ snat: true, capabilities: { portMappings: true } });
  });
});

describe('results', () => {
  test('1.0.0 result: IPs of the pod interface, IPv4 first', () => {
    const r = {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'cni0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/run/ns/x' }],
      ips: [
        { address: 'fd00::5/64', interface: 2 },
        { address: '10.88.0.5/16', gateway: '10.88.0.1', interface: 2 },
        { address: '10.88.0.1/16', interface: 0 },
      ],
    };
    expect(podIpsFromResult(r, 'eth0')).toEqual(['10.88.0.5', 'fd00::5']);
  });

  test('0.2.0 result and junk', () => {
    expect(podIpsFromResult({ ip4: { ip: '10.0.0.2/24' }, ip6: { ip: 'fd::2/64' } }, 'eth0')).toEqual(['10.0.0.2', 'fd::2']);
    expect(podIpsFromResult(null, 'eth0')).toEqual([]);
    expect(podIpsFromResult({ ips: [{ address: 'nonsense' }] }, 'eth0')).toEqual([]);
  });

  test('versions compare numerically', () => {
    expect(compareVersions('0.4.0', '0.3.1')).toBeGreaterThan(0);
    expect(compareVersions('0.10.0', '0.9.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0', '1.0.0')).toBe(0);
  });

  test('error objects', () => {
    expect(pluginErrorText('{"code":7,"msg":"failed to allocate","details":"range full"}', '')).toEqual({ message: 'failed to allocate; range full', code: 7 });
    expect(pluginErrorText('', 'panic: boom\n')).toEqual({ message: 'panic: boom' });
  });
});

describe('bandwidth and pod CIDRs', () => {
  test('quantities', () => {
    expect(parseQuantity('10M')).toBe(10_000_000);
    expect(parseQuantity('1Ki')).toBe(1024);
    expect(parseQuantity('1.5k')).toBe(1500);
    expect(parseQuantity('100')).toBe(100);
    expect(parseQuantity('10X')).toBeUndefined();
    expect(parseQuantity('-1')).toBeUndefined();
  });

  test('annotations', () => {
    expect(bandwidthFromAnnotations({})).toBeUndefined();
    expect(bandwidthFromAnnotations({ 'kubernetes.io/ingress-bandwidth': '1M' })).toEqual({ ingressRate: 1_000_000, ingressBurst: 4294967295 });
    expect(() => bandwidthFromAnnotations({ 'kubernetes.io/egress-bandwidth': 'fast' })).toThrow(BandwidthError);
  });

  test('pod CIDRs', () => {
    expect(parsePodCidrs('10.1.0.0/24')).toEqual(['10.1.0.0/24']);
    expect(parsePodCidrs('10.1.0.0/24, fd00::/64')).toEqual(['10.1.0.0/24', 'fd00::/64']);
    expect(() => parsePodCidrs('10.1.0.0/33')).toThrow('not a CIDR');
    expect(() => parsePodCidrs('hello')).toThrow('not a CIDR');
  });
});

/** A fake plugin: records its environment and stdin, then does what `body` says. */
function fakePlugin(name: string, body: string): void {
  const file = join(dir, 'bin', name);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(
    file,
    `#!/bin/sh
stdin=$(cat)
echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME $CNI_NETNS $CNI_ARGS" >> ${dir}/calls.log
printf '%s\\n' "$stdin" >> ${dir}/stdin.log
${body}
`,
  );
  chmodSync(file, 0o755);
}

const calls = (): string[] => readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n');
const stdins = (): Record<string, unknown>[] => readFileSync(join(dir, 'stdin.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('running plugins', () => {
  const rt: CniRuntimeArgs = { containerId: 'pod1', netns: '/run/ns/pod1', ifName: 'eth0', args: [['K8S_POD_NAME', 'p']], capabilities: {} };
  const list = (...types: string[]): CniConfList => ({ name: 'n', cniVersion: '1.0.0', disableCheck: false, plugins: types.map((type) => ({ type })), source: 't' });

  test('ADD chains results; DEL runs in reverse with the cached result', async () => {
    fakePlugin('first', 'echo \'{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.2/24"}]}\'');
    fakePlugin('second', 'echo "$stdin" | sed -e \'s/.*"prevResult":\\(.*\\)}$/\\1/\'');
    const opts = { launcher, binDirs: [join(dir, 'none'), join(dir, 'bin')], timeoutMs: 5000 };
    const result = await addNetworkList(list('first', 'second'), rt, opts);
    expect(podIpsFromResult(result, 'eth0')).toEqual(['10.9.0.2']);
    expect(calls()).toEqual([
      'ADD pod1 eth0 /run/ns/pod1 IgnoreUnknown=1;K8S_POD_NAME=p',
      'ADD pod1 eth0 /run/ns/pod1 IgnoreUnknown=1;K8S_POD_NAME=p',
    ]);
    expect(stdins()[1]!.prevResult).toEqual({ cniVersion: '1.0.0', ips: [{ address: '10.9.0.2/24' }] });
    await delNetworkList(list('first', 'second'), rt, result, opts);
    expect(calls().slice(2).map((c) => c.split(' ')[0])).toEqual(['DEL', 'DEL']);
    expect(stdins()[2]!.type).toBe('second');
    expect(stdins()[3]!.prevResult).toEqual(result);
  });

  test('an error object becomes the message; a missing plugin is named', async () => {
    fakePlugin('failing', 'echo \'{"cniVersion":"1.0.0","code":11,"msg":"no more addresses"}\'; exit 1');
    const opts = { launcher, binDirs: [join(dir, 'bin')], timeoutMs: 5000 };
    await expect(addNetworkList(list('failing'), rt, opts)).rejects.toThrow('plugin type="failing" failed (add): no more addresses');
    await expect(addNetworkList(list('absent'), rt, opts)).rejects.toThrow(/plugin type="absent" failed \(add\): plugin not found/);
  });

  test('a hanging plugin is killed with everything it started', async () => {
    // The pid file appears whole (rename) or not at all; 2 s leaves a loaded machine time to write it.
    fakePlugin('hang', `sleep 300 & echo $! > ${dir}/child.pid.tmp; mv ${dir}/child.pid.tmp ${dir}/child.pid; wait`);
    const err = await invokePlugin(launcher, { binDirs: [join(dir, 'bin')], type: 'hang', command: 'ADD', containerId: 'c', netns: '/x', ifName: 'eth0', args: '', stdin: {}, timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniPluginError);
    expect((err as Error).message).toContain('timed out after 2000 ms');
    const child = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
    expect(Number.isInteger(child) && child > 1).toBe(true);
    // Gone (or a zombie awaiting its reaper) within a generous deadline; a survivor fails the test.
    const alive = (): boolean => existsSync(`/proc/${child}`) && !readFileSync(`/proc/${child}/stat`, 'utf8').includes(') Z ');
    for (const end = Date.now() + 10_000; alive() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toBe(false);
  });
});

describe('NetworkManager', () => {
  const request = { podId: 'pod1', netns: '/run/ns/pod1', podName: 'p', podNamespace: 'ns', podUid: 'u', portMappings: [] };

  function manager(confDir: string): NetworkManager {
    return new NetworkManager({
      launcher,
      confDir,
      binDirs: [join(dir, 'bin')],
      pluginTimeoutMs: 5000,
      defaultBridge: 'kt0',
      defaultSubnet: '10.7.0.0/24',
      root: join(dir, 'root'),
      log: silentLogger(),
    });
  }

  test('falls back to the default, picks up a config added later, and reports broken ones', async () => {
    const conf = join(dir, 'net.d');
    const m = manager(conf);
    expect((await m.active()).config?.name).toBe('krill');
    m.setPodCidrs(['10.60.0.0/24', 'fd60::/64']);
    expect((await m.active()).config?.plugins[0]!.ipam).toMatchObject({ ranges: [[{ subnet: '10.60.0.0/24' }], [{ subnet: 'fd60::/64' }]] });
    // the default's plugins are not in the fake bin dir
    expect(await m.condition()).toMatchObject({ ready: false, reason: 'NetworkPluginNotReady' });
    mkdirSync(conf);
    writeFileSync(join(conf, '10-x.conflist'), '{"cniVersion":"1.0.0","name":"x","plugins":[{"type":"first"}]}');
    fakePlugin('first', 'echo \'{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.3/24"}]}\'');
    expect((await m.active()).config?.name).toBe('x');
    expect(await m.condition()).toEqual({ ready: true, reason: '', message: '' });
    writeFileSync(join(conf, '10-x.conflist'), '{"name":"x"}');
    expect(await m.condition()).toMatchObject({ ready: false, message: expect.stringContaining('no valid CNI config') });
  });

  test('setUp caches what DEL needs; tearDown uses it even after the config changed', async () => {
    const conf = join(dir, 'net.d');
    mkdirSync(conf);
    writeFileSync(join(conf, '10-x.conflist'), '{"cniVersion":"1.0.0","name":"x","plugins":[{"type":"first"}]}');
    fakePlugin('first', 'echo \'{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.3/24"}]}\'');
    const m = manager(conf);
    m.setPodCidrs(['10.50.0.0/24']);
    const r = await m.setUp({ ...request, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    expect(r).toMatchObject({ networkName: 'x', ips: ['10.9.0.3'] });
    expect((await m.cache.read('pod1'))?.result).toEqual(r.result);
    writeFileSync(join(conf, '10-x.conflist'), '{"cniVersion":"1.0.0","name":"y","plugins":[{"type":"other"}]}');
    await manager(conf).tearDown('pod1');
    expect(calls().map((c) => c.split(' ')[0])).toEqual(['ADD', 'DEL']);
    expect(await m.cache.read('pod1')).toBeUndefined();
    await m.tearDown('pod1'); // nothing cached: nothing to do
    expect(calls()).toHaveLength(2);
  });

  test('a pod CIDR that arrives after the first pods: an idle bridge of the old subnet goes, a busy one keeps it', async () => {
    fakePlugin('bridge', 'echo \'{"cniVersion":"1.0.0","ips":[{"address":"10.60.0.2/24"}]}\'');
    fakePlugin('loopback', 'echo \'{"cniVersion":"1.0.0"}\'');
    const deleted: string[] = [];
    let ports = 0;
    const m = new NetworkManager({
      launcher,
      confDir: join(dir, 'net.d'),
      binDirs: [join(dir, 'bin')],
      pluginTimeoutMs: 5000,
      defaultBridge: 'kt0',
      defaultSubnet: '10.7.0.0/24',
      root: join(dir, 'root'),
      log: silentLogger(),
      readBridge: async () => ({ exists: true, addresses: ['10.7.0.1/24'], ports }),
      deleteBridge: async (name) => {
        deleted.push(name);
      },
    });
    const ranges = (i: number): unknown => (stdins()[i]!.ipam as { ranges: unknown }).ranges;
    await m.setUp(request);
    expect(ranges(0)).toEqual([[{ subnet: '10.7.0.0/24' }]]);
    m.setPodCidrs(['10.60.0.0/24']);
    ports = 1;
    await m.setUp({ ...request, podId: 'pod2' });
    expect(deleted).toEqual([]);
    expect(ranges(2)).toEqual([[{ subnet: '10.7.0.0/24' }]]);
    ports = 0;
    await m.setUp({ ...request, podId: 'pod3' });
    expect(deleted).toEqual(['kt0']);
    expect(ranges(4)).toEqual([[{ subnet: '10.60.0.0/24' }]]);
  });

  test('a failed ADD runs DEL and leaves no cache', async () => {
    const conf = join(dir, 'net.d');
    mkdirSync(conf);
    writeFileSync(join(conf, '10-x.conflist'), '{"cniVersion":"1.0.0","name":"x","plugins":[{"type":"ok"},{"type":"bad"}]}');
    fakePlugin('ok', 'echo \'{"cniVersion":"1.0.0"}\'');
    fakePlugin('bad', '[ "$CNI_COMMAND" = DEL ] && exit 0; echo \'{"code":100,"msg":"bad plugin"}\'; exit 1');
    const m = manager(conf);
    await expect(m.setUp(request)).rejects.toThrow('plugin type="bad" failed (add): bad plugin');
    expect(calls().map((c) => c.split(' ')[0])).toEqual(['ADD', 'ADD', 'DEL', 'DEL']);
    expect(await m.cache.read('pod1')).toBeUndefined();
  });
});

describe('the embedded network trimmed for one pod', () => {
  const full = defaultNetwork({ bridge: 'krill0', subnets: ['10.88.0.0/16'], dataDir: '/var/lib/krill/cni/networks' });
  const types = (c: typeof full) => c.plugins.map((p) => p.type);

  test('a pod with no host ports and no shaping runs bridge and loopback only', () => {
    expect(types(trimForPod(full, { portMappings: false, bandwidth: false }))).toEqual(['bridge', 'loopback']);
  });

  test('host ports bring portmap, shaping brings bandwidth', () => {
    expect(types(trimForPod(full, { portMappings: true, bandwidth: false }))).toEqual(['bridge', 'portmap', 'loopback']);
    expect(types(trimForPod(full, { portMappings: true, bandwidth: true }))).toEqual(['bridge', 'portmap', 'bandwidth', 'loopback']);
  });

  test("an operator's config runs as written", () => {
    const theirs = { ...full, name: 'mynet', source: '/etc/cni/net.d/10-mynet.conflist' };
    expect(trimForPod(theirs, { portMappings: false, bandwidth: false })).toBe(theirs);
  });
});
