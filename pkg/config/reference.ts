// The krill.toml reference, rendered from the schema: every key, its type,
// its default and what it means. README.md carries it between markers, and a
// unit test fails when the two drift apart.
import { configSchema } from './config';
import { isLive } from './reload';
import { formatDuration, type MapNode, type Node, type Shape, type TableNode } from './schema';

export const REFERENCE_BEGIN = '<!-- config-reference:begin (generated from pkg/config/config.ts by `npm run gen`) -->';
export const REFERENCE_END = '<!-- config-reference:end -->';

function show(node: Node<unknown>, value: unknown): string {
  if (node.kind === 'duration') return `"${formatDuration(value as number)}"`;
  if (node.kind === 'map') return '';
  return JSON.stringify(value);
}

/** What a reload does with the key (README: Changing the configuration live). */
function liveNote(path: string[], mapEntry: boolean): string {
  const change = { path, key: path.join('.'), kind: 'changed' as const };
  if (mapEntry && !isLive(change) && isLive({ ...change, kind: 'added' })) return ' Reload: added live; changed or removed at the next start.';
  return isLive(change) ? ' Reload: live.' : '';
}

function rows(node: TableNode<Shape>, prefix: string, path: string[], out: string[]): void {
  for (const [key, child] of Object.entries(node.shape)) {
    const name = prefix ? `${prefix}.${key}` : key;
    const at = [...path, key];
    if (child.kind === 'table') {
      rows(child as TableNode<Shape>, name, at, out);
      continue;
    }
    if (child.kind === 'map') {
      const map = child as unknown as MapNode<unknown>;
      out.push(`| \`${name}.<name>\` | table | see below | ${child.description}${liveNote([...at, '<name>'], true)} |`);
      if (map.value.kind === 'table') rows(map.value as TableNode<Shape>, `${name}.<name>`, [...at, '<name>'], out);
      continue;
    }
    const def = show(child, child.defaultValue());
    const note = path.includes('<name>') ? '' : liveNote(at, false);
    out.push(`| \`${name}\` | ${child.expected} | \`${def.replace(/\|/g, '\\|')}\` | ${child.description}${note} |`);
  }
}

export function renderReference(): string {
  const out = ['| key | type | default | meaning |', '| --- | --- | --- | --- |'];
  rows(configSchema, '', [], out);
  const handlers = configSchema.shape.runtime.shape.handlers.defaultValue();
  out.push('', `Default runtime handlers: ${Object.entries(handlers).map(([n, h]) => `\`${n}\` (${h.binary})`).join(', ')}.`);
  return out.join('\n');
}

/** `text` with the block between the markers replaced by the current reference. */
export function updateReference(text: string): string {
  const begin = text.indexOf(REFERENCE_BEGIN);
  const end = text.indexOf(REFERENCE_END);
  if (begin < 0 || end < begin) throw new Error('the reference markers are missing');
  return `${text.slice(0, begin + REFERENCE_BEGIN.length)}\n${renderReference()}\n${text.slice(end)}`;
}
