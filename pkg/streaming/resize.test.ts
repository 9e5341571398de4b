import { ResizeDecoder, ResizeQueue } from './resize';

describe('ResizeDecoder', () => {
  test('reads one size per JSON object, however the bytes are split', () => {
    const text = '{"Width":80,"Height":24}\n{"Width":120,"Height":40}\n{"width":1,"height":2}';
    const whole = new ResizeDecoder().push(Buffer.from(text));
    expect(whole).toEqual([
      { width: 80, height: 24 },
      { width: 120, height: 40 },
      { width: 1, height: 2 },
    ]);
    const d = new ResizeDecoder();
    const bytewise = [...text].flatMap((c) => d.push(c));
    expect(bytewise).toEqual(whole);
  });

  test('skips objects that are not sizes but keeps going', () => {
    const d = new ResizeDecoder();
    expect(d.push('{"Width":-1,"Height":5}{"Width":"80"}{"Other":{"Width":[1,"}"]}} {"Width":70000}{"Width":10,"Height":20}')).toEqual([
      { width: 0, height: 0 },
      { width: 10, height: 20 },
    ]);
  });

  test('stops at input that is not a JSON object stream', () => {
    const d = new ResizeDecoder();
    expect(d.push('{"Width":1,"Height":1} garbage {"Width":2,"Height":2}')).toEqual([{ width: 1, height: 1 }]);
    expect(d.broken).toBe(true);
    expect(d.push('{"Width":3,"Height":3}')).toEqual([]);
    const long = new ResizeDecoder();
    long.push(`{"Width":${' '.repeat(5000)}`);
    expect(long.broken).toBe(true);
  });
});

describe('ResizeQueue', () => {
  test('delivers sizes in order to a waiting consumer and ends', async () => {
    const q = new ResizeQueue();
    const seen: unknown[] = [];
    const consumer = (async () => {
      for await (const s of q) seen.push(s);
    })();
    q.push({ width: 1, height: 1 });
    await new Promise((r) => setImmediate(r));
    q.push({ width: 2, height: 2 });
    await new Promise((r) => setImmediate(r));
    q.end();
    await consumer;
    expect(seen).toEqual([
      { width: 1, height: 1 },
      { width: 2, height: 2 },
    ]);
  });

  test('keeps only the newest size nobody has taken yet', async () => {
    const q = new ResizeQueue();
    for (let i = 1; i <= 100; i++) q.push({ width: i, height: i });
    q.end();
    const seen = [];
    for await (const s of q) seen.push(s);
    expect(seen).toEqual([{ width: 100, height: 100 }]);
  });
});
