import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { configSchema, defaultConfig } from './config';
import { renderDefaultConfigFile, uncommentSettings } from './default_file';
import { configToPlain, loadConfig } from './load';

const text = renderDefaultConfigFile('1.2.3');

test('as shipped, every line is a comment: krilld runs on its embedded defaults', () => {
  expect(parse(text)).toEqual({});
  const dir = mkdtempSync(join(tmpdir(), 'krill-default-file-'));
  try {
    writeFileSync(join(dir, 'krill.toml'), text);
    const loaded = loadConfig({ configFile: join(dir, 'krill.toml'), configExplicit: true, dropInDir: join(dir, 'krill.d'), overrides: {} });
    expect(loaded.config).toEqual(defaultConfig());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('uncommented, it sets every key of the schema to its embedded default', () => {
  const raw = parse(uncommentSettings(text)) as Record<string, unknown>;
  // Every key is written (the same shape as the plain defaults), with the default value...
  expect(raw).toEqual(configToPlain(defaultConfig()));
  // ...and it validates to exactly the embedded defaults.
  expect(configSchema.parse(raw, defaultConfig(), 'krill.toml', '')).toEqual(defaultConfig());
});

test('each setting comes with what it means; the example entry stays a comment', () => {
  const lines = text.split('\n');
  expect(lines[0]).toBe('# /etc/krill/krill.toml: the configuration of krilld, the Krill CRI runtime (Krill 1.2.3).');
  lines.forEach((line, i) => {
    // A setting follows prose (its meaning), never a blank line or another setting.
    if (/^# [a-z_]+ = /.test(line)) expect(lines[i - 1]).toMatch(/^# (?![a-z_]+ = )[^[]/);
    expect(line.length).toBeLessThanOrEqual(100);
  });
  expect(text).toContain('# socket = "/run/krill/krill.sock"\n');
  expect(text).toContain('# [runtime.handlers.runc]\n');
  expect(text).toContain('#   [image.registries."docker.io"]\n');
  expect(uncommentSettings(text)).toContain('#   [image.registries."docker.io"]\n');
});
