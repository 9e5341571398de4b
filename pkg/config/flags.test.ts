import { parseArgs, usage, UsageError, FLAGS } from './flags';

test('defaults: serve with /etc/krill/krill.toml and its krill.d', () => {
  expect(parseArgs([])).toEqual({
    command: 'serve',
    configFile: '/etc/krill/krill.toml',
    configExplicit: false,
    dropInDir: '/etc/krill/krill.d',
    overrides: {},
  });
});

test('flags become config overrides', () => {
  const args = parseArgs(['--socket', '/tmp/k.sock', '--log-level=debug', '--streaming-port', '10010', '--cni-bin-dir', '/a', '--cni-bin-dir=/b']);
  expect(args.overrides).toEqual({
    socket: '/tmp/k.sock',
    log_level: 'debug',
    streaming: { port: 10010 },
    network: { cni_bin_dirs: ['/a', '/b'] },
  });
});

test('--config moves the drop-in directory with it unless --config-dir is given', () => {
  expect(parseArgs(['--config', '/x/k.toml']).dropInDir).toBe('/x/krill.d');
  expect(parseArgs(['--config', '/x/k.toml', '--config-dir', '/y']).dropInDir).toBe('/y');
  expect(parseArgs(['--config', '/x/k.toml']).configExplicit).toBe(true);
});

test('--set takes TOML values and bare strings', () => {
  const args = parseArgs([
    '--set', 'image.registries."docker.io".mirrors=["http://127.0.0.1:5000"]',
    '--set', 'image.registries."docker.io".mirror_only=true',
    '--set', 'image.pause_image=example.com/pause:1',
  ]);
  expect(args.overrides).toEqual({
    image: { registries: { 'docker.io': { mirrors: ['http://127.0.0.1:5000'], mirror_only: true } }, pause_image: 'example.com/pause:1' },
  });
});

test('commands', () => {
  expect(parseArgs(['config']).command).toBe('config');
  expect(parseArgs(['config', 'default']).command).toBe('config-default');
  expect(() => parseArgs(['default'])).toThrow(/unexpected argument/);
  expect(parseArgs(['--help']).command).toBe('help');
  expect(parseArgs(['--version']).command).toBe('version');
});

test.each([
  [['--nope'], 'unknown flag --nope'],
  [['--socket'], 'flag --socket needs a value'],
  [['--streaming-port', 'x'], 'takes an integer'],
  [['stray'], 'unexpected argument "stray"'],
  [['--set', 'novalue'], '--set takes KEY=VALUE'],
])('%j is a usage error', (argv, message) => {
  expect(() => parseArgs(argv)).toThrow(UsageError);
  expect(() => parseArgs(argv)).toThrow(message);
});

test('usage lists every flag', () => {
  const text = usage();
  for (const f of FLAGS) expect(text).toContain(`--${f.name}`);
});
