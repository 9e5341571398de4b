import { SharedWork } from './shared';

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('callers of one key share one run', async () => {
  const w = new SharedWork<string>();
  let runs = 0;
  const fn = async (): Promise<string> => {
    runs++;
    await tick(10);
    return 'id';
  };
  const a = w.run('k', undefined, fn);
  const b = w.run('k', undefined, fn);
  expect([a.joined, b.joined]).toEqual([false, true]);
  expect(await Promise.all([a.promise, b.promise])).toEqual(['id', 'id']);
  expect(runs).toBe(1);
  expect(w.has('k')).toBe(false);
});

test('one caller giving up does not stop the work for the others', async () => {
  const w = new SharedWork<string>();
  let aborted = false;
  const fn = async (signal: AbortSignal): Promise<string> => {
    signal.addEventListener('abort', () => (aborted = true));
    await tick(20);
    return 'done';
  };
  const c1 = new AbortController();
  const a = w.run('k', c1.signal, fn);
  const b = w.run('k', undefined, fn);
  c1.abort(new Error('client went away'));
  await expect(a.promise).rejects.toThrow('client went away');
  await expect(b.promise).resolves.toBe('done');
  expect(aborted).toBe(false);
});

test('the work is aborted when every caller gave up, and a new caller starts afresh', async () => {
  const w = new SharedWork<string>();
  const seen: string[] = [];
  const fn = (signal: AbortSignal): Promise<string> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => resolve('finished'), 30);
      signal.addEventListener('abort', () => {
        clearTimeout(t);
        seen.push('aborted');
        reject(signal.reason);
      });
    });
  const c1 = new AbortController();
  const c2 = new AbortController();
  const a = w.run('k', c1.signal, fn);
  const b = w.run('k', c2.signal, fn);
  c1.abort(new Error('one'));
  expect(seen).toEqual([]);
  c2.abort(new Error('two'));
  await expect(a.promise).rejects.toThrow('one');
  await expect(b.promise).rejects.toThrow('two');
  expect(seen).toEqual(['aborted']);
  const c = w.run('k', undefined, fn);
  expect(c.joined).toBe(false);
  await expect(c.promise).resolves.toBe('finished');
});

test('failures reach every caller', async () => {
  const w = new SharedWork<string>();
  const fn = async (): Promise<string> => {
    await tick();
    throw new Error('bad layer');
  };
  const a = w.run('k', undefined, fn);
  const b = w.run('k', undefined, fn);
  await expect(a.promise).rejects.toThrow('bad layer');
  await expect(b.promise).rejects.toThrow('bad layer');
});
