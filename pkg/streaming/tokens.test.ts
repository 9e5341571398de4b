import { TokenStore, TokenStoreFullError } from './tokens';

describe('TokenStore', () => {
  let now = 1_000_000;
  const clock = (): number => now;

  test('a token is URL-safe, unguessable in length, and returns its value once', () => {
    const s = new TokenStore<string>(60_000, 10, clock);
    const t = s.insert('req');
    expect(t).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(s.consume(t)).toBe('req');
    expect(s.consume(t)).toBeUndefined();
  });

  test('unknown tokens return nothing', () => {
    const s = new TokenStore<string>(60_000, 10, clock);
    s.insert('a');
    expect(s.consume('nope')).toBeUndefined();
    expect(s.consume('')).toBeUndefined();
  });

  test('tokens expire after the TTL and are collected', () => {
    const s = new TokenStore<string>(60_000, 10, clock);
    const a = s.insert('a');
    now += 30_000;
    const b = s.insert('b');
    now += 30_000;
    expect(s.size).toBe(2); // exactly at the TTL a token still works
    now += 1;
    expect(s.consume(a)).toBeUndefined();
    expect(s.size).toBe(1);
    expect(s.consume(b)).toBe('b');
    const c = s.insert('c');
    now += 60_001;
    expect(s.consume(c)).toBeUndefined();
  });

  test('distinct tokens for every insert', () => {
    const s = new TokenStore<number>(60_000, 5000, clock);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(s.insert(i));
    expect(seen.size).toBe(2000);
  });

  test('a full store refuses until entries are used or expire', () => {
    const s = new TokenStore<number>(1000, 2, clock);
    const a = s.insert(1);
    s.insert(2);
    expect(() => s.insert(3)).toThrow(TokenStoreFullError);
    s.consume(a);
    s.insert(3);
    now += 1001;
    expect(() => s.insert(4)).not.toThrow();
  });

  test('entries that expire unused go through onExpire, once, whether collected or consumed late', () => {
    const expired: string[] = [];
    const s = new TokenStore<string>(1000, 10, clock, (v) => expired.push(v));
    const a = s.insert('a');
    const b = s.insert('b');
    const used = s.insert('used');
    expect(s.consume(used)).toBe('used');
    now += 1001;
    expect(s.consume(a)).toBeUndefined();
    expect(expired).toEqual(['a']);
    s.prune();
    expect(expired).toEqual(['a', 'b']);
    expect(s.consume(b)).toBeUndefined();
    expect(expired).toEqual(['a', 'b']);
  });

  test('setTtl: new tokens get the new TTL, issued ones keep theirs; a shorter TTL still prunes exactly', () => {
    const expired: string[] = [];
    const s = new TokenStore<string>(10_000, 10, clock, (v) => expired.push(v));
    const long = s.insert('long');
    s.setTtl(1000);
    const short = s.insert('short');
    now += 1001;
    s.prune();
    expect(expired).toEqual(['short']);
    expect(s.consume(short)).toBeUndefined();
    expect(s.consume(long)).toBe('long');
    s.setTtl(5000);
    const later = s.insert('later');
    now += 4000;
    expect(s.consume(later)).toBe('later');
  });
});
