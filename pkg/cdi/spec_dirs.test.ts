// The spec directories on a temporary tree (no root needed: device nodes
// are the host's /dev/null).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerConfig } from '../../api/runtime/v1/api';
import { KrillError } from '../errors/errors';
import { createLogger } from '../log/logger';
import { CdiSpecDirs } from './spec_dirs';

let dir: string;
let lines: Record<string, unknown>[];
const log = () => createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
const warnings = () => lines.filter((l) => l.level === 'warn').map((l) => l.msg as string);

const spec = (kind: string, devices: Record<string, object>, edits: object = {}) =>
  JSON.stringify({ cdiVersion: '0.6.0', kind, devices: Object.entries(devices).map(([name, containerEdits]) => ({ name, containerEdits })), containerEdits: edits });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-cdi-'));
  lines = [];
  mkdirSync(join(dir, 'etc'));
  mkdirSync(join(dir, 'run'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const dirs = () => [join(dir, 'etc'), join(dir, 'run'), join(dir, 'missing')];
const request = (...names: string[]) => ContainerConfig.fromPartial({ CDIDevices: names.map((name) => ({ name })) });

describe('CdiSpecDirs', () => {
  test('JSON and YAML files of every directory; a later directory overrides; other files and subdirectories are not read', async () => {
    writeFileSync(join(dir, 'etc', 'a.json'), spec('example.com/dev', { one: { env: ['FROM=etc'] }, two: { env: ['TWO=1'] } }));
    writeFileSync(join(dir, 'run', 'b.yaml'), 'cdiVersion: 0.6.0\nkind: example.com/dev\ndevices:\n- name: one\n  containerEdits:\n    env: [FROM=run]\n');
    writeFileSync(join(dir, 'run', 'c.yml'), spec('example.com/yml', { x: { env: ['X=1'] } }));
    mkdirSync(join(dir, 'run', 'sub.json'));
    writeFileSync(join(dir, 'run', 'sub.json', 'd.json'), spec('example.com/sub', { x: { env: ['X=1'] } }));
    const cdi = new CdiSpecDirs(dirs(), log());
    expect([...(await cdi.registry()).devices.keys()].sort()).toEqual(['example.com/dev=one', 'example.com/dev=two']);
    const edits = await cdi.resolve(request('example.com/dev=one', 'example.com/dev=two'), log());
    expect(edits?.env).toEqual(['FROM=run', 'TWO=1']);
    expect(warnings()).toEqual([]);
  });

  test('a request without CDI devices reads nothing', async () => {
    const cdi = new CdiSpecDirs(['/nonexistent'], log());
    await expect(cdi.resolve(request(), log())).resolves.toBeUndefined();
  });

  test('a bad file is skipped with one warning naming it (per version of the file); the others serve', async () => {
    writeFileSync(join(dir, 'etc', 'good.json'), spec('example.com/dev', { one: { env: ['A=1'] } }));
    const bad = join(dir, 'etc', 'bad.yaml');
    writeFileSync(bad, 'cdiVersion: 0.6.0\nkind: example.com/broken\ndevices: [{name: x, containerEdits: {env: [A=1]}, colour: red}]\n');
    symlinkSync(join(dir, 'nowhere'), join(dir, 'etc', 'dangling.json'));
    const cdi = new CdiSpecDirs(dirs(), log());
    for (let i = 0; i < 3; i++) expect((await cdi.resolve(request('example.com/dev=one'), log()))?.env).toEqual(['A=1']);
    expect(warnings()).toEqual([`CDI spec file ${bad} skipped: devices[0]: unknown field "colour"`, expect.stringMatching(/dangling\.json skipped: the file does not exist$/)]);
    expect(lines.find((l) => l.file === bad)).toBeDefined();
    await expect(cdi.resolve(request('example.com/broken=x'), log())).rejects.toMatchObject({ code: 'InvalidArgument', message: expect.stringContaining('"example.com/broken=x"') });

    writeFileSync(bad, 'not: [valid');
    utimesSync(bad, new Date(), new Date(Date.now() + 10_000));
    await cdi.registry();
    expect(warnings()).toHaveLength(3);
    expect(warnings()[2]).toMatch(/bad\.yaml skipped: not YAML or JSON/);
  });

  test('two files of one directory defining a device: the device is refused, with a warning naming both', async () => {
    writeFileSync(join(dir, 'etc', 'a.json'), spec('example.com/dev', { one: { env: ['A=1'] } }));
    writeFileSync(join(dir, 'etc', 'b.json'), spec('example.com/dev', { one: { env: ['B=1'] } }));
    const cdi = new CdiSpecDirs(dirs(), log());
    await expect(cdi.resolve(request('example.com/dev=one'), log())).rejects.toMatchObject({ code: 'InvalidArgument' });
    await cdi.registry();
    expect(warnings()).toEqual([`CDI device example.com/dev=one is defined by two spec files of one directory: it cannot be used until one of them goes`]);
    expect(lines.find((l) => l.level === 'warn')?.files).toEqual([join(dir, 'etc', 'a.json'), join(dir, 'etc', 'b.json')]);
  });

  test('device nodes are completed from the host; a missing one is FailedPrecondition', async () => {
    writeFileSync(
      join(dir, 'etc', 'a.json'),
      spec('example.com/dev', { null: { deviceNodes: [{ path: '/dev/fake', hostPath: '/dev/null' }] }, gone: { deviceNodes: [{ path: join(dir, 'no-such-node') }] } }),
    );
    const cdi = new CdiSpecDirs(dirs(), log());
    const edits = await cdi.resolve(request('example.com/dev=null'), log());
    expect(edits?.deviceNodes).toEqual([{ path: '/dev/fake', hostPath: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, access: 'rwm' }]);
    const err = await cdi.resolve(request('example.com/dev=gone'), log()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KrillError);
    expect(err).toMatchObject({ code: 'FailedPrecondition', message: expect.stringContaining('no-such-node: does not exist') });
  });
});
