// krilld as a process: the socket, the RPCs of the foundation, config errors,
// a second daemon on the same socket, signals.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { grpc } from '../pkg/criclient/client';
import { startKrilld, until, type Krilld } from './harness/krilld';
import { REPO_ROOT, testBaseDir } from './harness/paths';

const krilldBin = join(REPO_ROOT, 'bin/krilld');

describe('a running krilld', () => {
  let k: Krilld;
  beforeAll(async () => {
    k = await startKrilld();
  });
  afterAll(async () => k.cleanup());

  test('Version names Krill and CRI v1', async () => {
    const v = await k.client.runtime.version({ version: '' });
    expect(v.runtimeName).toBe('krill');
    expect(v.runtimeApiVersion).toBe('v1');
    expect(v.runtimeVersion).toBe(require('../package.json').version);
  });

  test('Status reports the runtime ready and networking honestly', async () => {
    const s = await k.client.runtime.status({ verbose: false });
    const byType = Object.fromEntries(s.status!.conditions.map((c) => [c.type, c]));
    expect(byType.RuntimeReady!.status).toBe(true);
    // The harness gives krilld an empty CNI conf dir: the embedded default network is ready.
    expect(byType.NetworkReady).toMatchObject({ status: true, reason: '' });
    expect(s.info).toEqual({});
    expect(s.runtimeHandlers.map((h) => h.name)).toEqual(expect.arrayContaining(['', 'runc', 'crun']));
  });

  test('Status verbose carries the effective config as JSON', async () => {
    const s = await k.client.runtime.status({ verbose: true });
    const config = JSON.parse(s.info.config!);
    expect(config.socket).toBe(k.socket);
    expect(config.root).toBe(k.root);
    expect(config.runtime.cgroup_driver).toBe('cgroupfs');
  });

  test('metrics are served where Status says, counting CRI calls', async () => {
    const s = await k.client.runtime.status({ verbose: true });
    const where = JSON.parse(s.info.metrics!) as { address: string; path: string };
    expect(where.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const text = await (await fetch(`http://${where.address}${where.path}`)).text();
    expect(text).toMatch(/krill_grpc_requests_total\{method="Status",code="OK"\} [1-9]/);
    expect(text).toContain('krill_process_resident_memory_bytes');
  });

  test('RuntimeConfig reports the cgroupfs driver', async () => {
    const r = await k.client.runtime.runtimeConfig({});
    expect(r.linux!.cgroupDriver).toBe(1); // CGROUPFS
  });

  test('an RPC that is not built yet answers UNIMPLEMENTED', async () => {
    await expect(k.client.runtime.checkpointContainer({ containerId: 'x', location: '/tmp/x', timeout: 0n })).rejects.toMatchObject({
      code: grpc.status.UNIMPLEMENTED,
    });
  });

  test('the socket is mode 0660', () => {
    expect(statSync(k.socket).mode & 0o777).toBe(0o660);
  });

  test('log lines are JSON; lines about a request carry its method and IDs', async () => {
    await k.client.runtime.checkpointContainer({ containerId: 'abc123', location: '/tmp/x', timeout: 0n }).catch(() => undefined);
    await k.client.runtime.status({ verbose: false });
    // the logger writes asynchronously
    const lines = await until('the Status line', () => {
      const l = k.logs();
      return l.some((x) => x.method === 'Status' && x.msg === 'Status done') && l;
    });
    expect(lines.some((l) => l.msg === 'krilld serving')).toBe(true);
    expect(lines).toContainEqual(expect.objectContaining({ method: 'CheckpointContainer', req: { container_id: 'abc123' }, level: 'debug' }));
    expect(lines).toContainEqual(expect.objectContaining({ method: 'Status', msg: 'Status done' }));
  });

  test('a second krilld on the same socket is refused and the first keeps serving', () => {
    const r = spawnSync(krilldBin, ['--config', k.configFile, '--socket', k.socket, '--root', join(k.dir, 'root2'), '--state', join(k.dir, 'state2'), '--metrics-address', '127.0.0.1:0'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toContain(`another process is serving on ${k.socket}`);
    return expect(k.client.runtime.version({ version: '' })).resolves.toBeTruthy();
  });
});

test('a stale socket left by a crash is replaced', async () => {
  const k = await startKrilld();
  try {
    await k.kill9();
    expect(existsSync(k.socket)).toBe(true);
    await k.restart();
    await expect(k.client.runtime.version({ version: '' })).resolves.toMatchObject({ runtimeName: 'krill' });
  } finally {
    await k.cleanup();
  }
});

test('SIGTERM stops the daemon with exit code 0 and removes the socket', async () => {
  const k = await startKrilld();
  try {
    expect(await k.stop()).toBe(0);
    expect(existsSync(k.socket)).toBe(false);
  } finally {
    await k.cleanup();
  }
});

describe('a broken config', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(testBaseDir(), 'cfg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('stops the start with the file and key named, and creates nothing', () => {
    const config = join(dir, 'krill.toml');
    writeFileSync(config, '[network]\ncni_bin_dirs = "/usr/lib/cni"\n');
    const root = join(dir, 'root');
    const state = join(dir, 'state');
    const socket = join(dir, 'sock', 'krill.sock');
    const r = spawnSync(krilldBin, ['--config', config, '--root', root, '--state', state, '--socket', socket], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${config}: key "network.cni_bin_dirs": expected an array of absolute paths`);
    for (const p of [root, state, join(dir, 'sock')]) expect(existsSync(p)).toBe(false);
  });

  test('an unknown flag is refused with a usage message', () => {
    const r = spawnSync(krilldBin, ['--no-such-flag'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown flag --no-such-flag');
  });
});

test('krilld config prints the effective config, drop-ins and flags applied', () => {
  const dir = mkdtempSync(join(testBaseDir(), 'cfg-'));
  try {
    writeFileSync(join(dir, 'krill.toml'), 'log_level = "debug"\n');
    require('node:fs').mkdirSync(join(dir, 'krill.d'));
    writeFileSync(join(dir, 'krill.d', '10.toml'), '[streaming]\nport = 10010\n');
    const r = spawnSync(krilldBin, ['config', '--config', join(dir, 'krill.toml'), '--root', '/srv/krill'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('log_level = "debug"');
    expect(r.stdout).toContain('port = 10010');
    expect(r.stdout).toContain('root = "/srv/krill"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--help and --version', () => {
  const help = spawnSync(krilldBin, ['--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toContain('Usage: krilld');
  const version = spawnSync(krilldBin, ['--version'], { encoding: 'utf8' });
  expect(version.stdout).toMatch(/^krilld \d+\.\d+\.\d+ /);
});
