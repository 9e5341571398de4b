import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSchema } from './config';
import { renderReference, updateReference } from './reference';

test('every key of the schema is in the reference', () => {
  const ref = renderReference();
  expect(ref).toContain('| `socket` |');
  expect(ref).toContain('| `image.registries.<name>.mirrors` |');
  expect(ref).toContain('| `network.plugin_timeout` | a duration such as "500ms", "30s", "5m" or "1h" | `"30s"` |');
  for (const section of Object.keys(configSchema.shape)) expect(ref).toContain(`\`${section}`);
});

test('README.md carries the current reference (run `npm run gen` after changing the schema)', () => {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  expect(readme).toBe(updateReference(readme));
});
