import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { defaultConfig } from './config';
import { formatConfig, loadConfig } from './load';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'krill-config-'));
  mkdirSync(join(dir, 'krill.d'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const load = (overrides: Record<string, unknown> = {}, explicit = false) =>
  loadConfig({ configFile: join(dir, 'krill.toml'), configExplicit: explicit, dropInDir: join(dir, 'krill.d'), overrides });

test('no files: the embedded defaults', () => {
  const { config, sources } = load();
  expect(config).toEqual(defaultConfig());
  expect(sources).toEqual([]);
});

test('an explicit config file that is missing is an error', () => {
  expect(() => load({}, true)).toThrow(/krill\.toml: expected a readable TOML file, got ENOENT/);
});

test('drop-ins apply in lexical order after the main file, flags last', () => {
  writeFileSync(join(dir, 'krill.toml'), 'log_level = "debug"\n[image]\nmax_concurrent_downloads = 4\n');
  writeFileSync(join(dir, 'krill.d', '20-b.toml'), 'log_level = "warn"\n');
  writeFileSync(join(dir, 'krill.d', '10-a.toml'), 'log_level = "error"\n[image]\npause_image = "x/pause:1"\n');
  writeFileSync(join(dir, 'krill.d', 'README'), 'not toml, ignored');
  const { config, sources } = load({ image: { max_concurrent_downloads: 8 } });
  expect(config.log_level).toBe('warn');
  expect(config.image.pause_image).toBe('x/pause:1');
  expect(config.image.max_concurrent_downloads).toBe(8);
  expect(sources.map((s) => s.slice(dir.length + 1))).toEqual(['krill.toml', 'krill.d/10-a.toml', 'krill.d/20-b.toml']);
});

test('registries merge per host across files', () => {
  writeFileSync(join(dir, 'krill.toml'), '[image.registries."docker.io"]\nmirrors = ["http://127.0.0.1:5000"]\n');
  writeFileSync(join(dir, 'krill.d', '10.toml'), '[image.registries."docker.io"]\nmirror_only = true\n');
  const { config } = load();
  expect(config.image.registries['docker.io']).toEqual({ mirrors: ['http://127.0.0.1:5000'], mirror_only: true, insecure: false, ca_file: '', share_credentials_with_mirrors: false });
});

test('a bad value names the file and the key', () => {
  writeFileSync(join(dir, 'krill.d', '10.toml'), '[streaming]\nport = 70000\n');
  expect(() => load()).toThrow(`${join(dir, 'krill.d', '10.toml')}: key "streaming.port": expected an integer from 0 to 65535, got number 70000`);
});

test('a TOML syntax error names the file and the line', () => {
  writeFileSync(join(dir, 'krill.toml'), 'log_level = "info"\nroot = \n');
  expect(() => load()).toThrow(/krill\.toml: expected valid TOML, got .* at line 2/);
});

test('the default handler must be one of the handlers', () => {
  writeFileSync(join(dir, 'krill.toml'), '[runtime]\ndefault_handler = "kata"\n');
  expect(() => load()).toThrow(/key "runtime.default_handler": expected one of the configured handlers \(runc, crun\), got "kata"/);
});

test('TLS needs both the certificate and the key', () => {
  expect(() => load({ streaming: { tls_cert_file: '/etc/krill/tls.crt' } })).toThrow(/streaming.tls_key_file/);
});

test('the effective config prints as TOML that loads back to the same config', () => {
  const { config } = load({ network: { plugin_timeout: '45s' } });
  const text = formatConfig(config);
  expect(text).toContain('plugin_timeout = "45s"');
  writeFileSync(join(dir, 'krill.toml'), text);
  expect(load().config).toEqual(config);
  expect(parse(text)).toBeTruthy();
});

test('image.pinned_images: references and prefixes; a bad entry names the file, key and why', () => {
  writeFileSync(join(dir, 'krill.d', '10-pin.toml'), '[image]\npinned_images = ["busybox", "docker.io/library/*"]\n');
  expect(load().config.image.pinned_images).toEqual(['busybox', 'docker.io/library/*']);
  writeFileSync(join(dir, 'krill.d', '20-bad.toml'), '[image]\npinned_images = ["ok", "Upper/Case"]\n');
  expect(() => load()).toThrow(/20-bad\.toml: key "image\.pinned_images\[1\]": expected a string \(an image reference or a prefix ending in "\*"\), got "Upper\/Case" \(repository name must be lowercase\)/);
});
