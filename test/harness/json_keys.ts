// The keys of a JSON object's text, in order and with duplicates (JSON.parse
// keeps only the last of a repeated key, so it cannot tell).

/** The top-level keys of the JSON object `text`, duplicates included. */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && text.slice(j + 1).trimStart().startsWith(':')) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      i = j;
    } else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
  }
  return keys;
}

/** The keys that appear more than once at the top level of `text`. */
export function repeatedKeys(text: string): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const k of topLevelKeys(text)) (seen.has(k) ? repeated : seen).add(k);
  return [...repeated];
}
