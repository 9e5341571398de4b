import { ConfigError, duration, formatDuration, int, list, map, oneOf, parseDuration, path, str, table } from './schema';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', '5 s', '-1s', '1d', 's'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());

  it('formats back to the largest whole unit', () => {
    expect(formatDuration(60_000)).toBe('1m');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('table', () => {
  const schema = table({
    name: str('x', ''),
    port: int(80, '', 1, 65535),
    mode: oneOf(['a', 'b'] as const, 'a', ''),
    timeout: duration('1s', ''),
    dirs: list(path('', ''), ['/a'], ''),
    nested: table({ on: str('', '') }),
    items: map(table({ v: int(1, '', 0, 9) }), { first: { v: 1 } }, ''),
  });

  it('fills defaults', () => {
    expect(schema.defaultValue()).toEqual({
      name: 'x', port: 80, mode: 'a', timeout: 1000, dirs: ['/a'], nested: { on: '' }, items: { first: { v: 1 } },
    });
  });

  it('merges a partial file over the base, keeping other keys', () => {
    const out = schema.parse({ port: 8080, nested: { on: 'yes' }, items: { second: { v: 2 } } }, schema.defaultValue(), 'f.toml', '');
    expect(out.port).toBe(8080);
    expect(out.name).toBe('x');
    expect(out.nested.on).toBe('yes');
    expect(out.items).toEqual({ first: { v: 1 }, second: { v: 2 } });
  });

  it('merges a map entry field by field', () => {
    const base = schema.parse({ items: { first: { v: 5 } } }, schema.defaultValue(), 'a.toml', '');
    expect(base.items.first!.v).toBe(5);
  });

  it.each([
    [{ nmae: 'y' }, 'f.toml: key "nmae": expected one of the known keys (name, port, mode, timeout, dirs, nested, items), got an unknown key'],
    [{ port: 0 }, 'f.toml: key "port": expected an integer from 1 to 65535, got number 0'],
    [{ port: '80' }, 'f.toml: key "port": expected an integer from 1 to 65535, got string "80"'],
    [{ mode: 'c' }, 'f.toml: key "mode": expected one of "a", "b", got string "c"'],
    [{ timeout: 'soon' }, 'f.toml: key "timeout": expected a duration such as "500ms", "30s", "5m" or "1h", got string "soon"'],
    [{ dirs: ['relative'] }, 'f.toml: key "dirs[0]": expected an absolute path, got string "relative"'],
    [{ nested: { off: '' } }, 'f.toml: key "nested.off": expected one of the known keys (on), got an unknown key'],
    [{ nested: 'x' }, 'f.toml: key "nested": expected a table, got string "x"'],
    [{ items: { third: { w: 1 } } }, 'f.toml: key "items.third.w": expected one of the known keys (v), got an unknown key'],
  ])('rejects %j naming file and key', (raw, message) => {
    expect(() => schema.parse(raw, schema.defaultValue(), 'f.toml', '')).toThrow(ConfigError);
    expect(() => schema.parse(raw, schema.defaultValue(), 'f.toml', '')).toThrow(message);
  });
});
