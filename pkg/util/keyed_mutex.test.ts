import { KeyedMutex } from './keyed_mutex';
import { InFlight } from './inflight';
import { matchIdPrefix, newId, AmbiguousIdError } from './id';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

test('work on one key runs one at a time, in order', async () => {
  const m = new KeyedMutex();
  const order: string[] = [];
  await Promise.all(
    ['a', 'b', 'c'].map((name, i) =>
      m.run('k', async () => {
        order.push(`${name}+`);
        await tick(10 - i * 3);
        order.push(`${name}-`);
      }),
    ),
  );
  expect(order).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
  expect(m.busy('k')).toBe(false);
});

test('different keys do not wait for each other', async () => {
  const m = new KeyedMutex();
  const order: string[] = [];
  await Promise.all([
    m.run('x', async () => { await tick(20); order.push('x'); }),
    m.run('y', async () => { order.push('y'); }),
  ]);
  expect(order).toEqual(['y', 'x']);
});

test('a failure releases the lock', async () => {
  const m = new KeyedMutex();
  await expect(m.run('k', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
  await expect(m.run('k', async () => 7)).resolves.toBe(7);
});

test('a second run with the same key joins the first', async () => {
  const f = new InFlight<string>();
  let calls = 0;
  const work = async () => { calls++; await tick(10); return 'id1'; };
  const a = f.run('name', work);
  const b = f.run('name', work);
  expect(a.joined).toBe(false);
  expect(b.joined).toBe(true);
  expect(await Promise.all([a.promise, b.promise])).toEqual(['id1', 'id1']);
  expect(calls).toBe(1);
  expect(f.has('name')).toBe(false);
});

test('IDs are 64 hex characters; prefixes resolve when unique', () => {
  const id = newId();
  expect(id).toMatch(/^[0-9a-f]{64}$/);
  expect(matchIdPrefix(['abc1', 'abd2'], 'abc')).toBe('abc1');
  expect(matchIdPrefix(['abc1', 'abd2'], 'abd2')).toBe('abd2');
  expect(matchIdPrefix(['abc1', 'abd2'], 'x')).toBeUndefined();
  expect(() => matchIdPrefix(['abc1', 'abc2'], 'ab')).toThrow(AmbiguousIdError);
  expect(matchIdPrefix(['abc1'], '')).toBeUndefined();
});
