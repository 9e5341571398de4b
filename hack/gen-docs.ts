// Rewrites the generated parts of the docs: the config reference in README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { updateReference } from '../pkg/config/reference';

const readme = join(__dirname, '../../README.md');
writeFileSync(readme, updateReference(readFileSync(readme, 'utf8')));
