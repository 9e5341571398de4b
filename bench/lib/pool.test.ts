import { runPool } from './pool';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('runPool', () => {
  test('runs every job once, at most `workers` at a time, results in job order', async () => {
    let active = 0;
    let peak = 0;
    const results = await runPool({
      count: 20,
      workers: 3,
      makeWorker: (i) => i,
      job: async (_w, i) => {
        active++;
        peak = Math.max(peak, active);
        await tick();
        active--;
        return i * 2;
      },
    });
    expect(results).toEqual(Array.from({ length: 20 }, (_x, i) => i * 2));
    expect(peak).toBe(3);
  });

  test('a failure stops new jobs and waits for the ones in flight before rejecting', async () => {
    const started: number[] = [];
    let finished = 0;
    const closed: number[] = [];
    await expect(
      runPool({
        count: 50,
        workers: 4,
        makeWorker: (i) => i,
        closeWorker: (w) => closed.push(w),
        job: async (_w, i) => {
          started.push(i);
          await tick();
          if (i === 2) throw new Error('boom');
          await tick();
          finished++;
        },
      }),
    ).rejects.toThrow('boom');
    expect(started.length).toBeLessThan(50);
    expect(finished).toBe(started.length - 1);
    expect(closed.sort()).toEqual([0, 1, 2, 3]);
  });

  test('an aborted signal stops the pool with Interrupted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(runPool({ count: 5, workers: 2, makeWorker: () => 0, job: async () => 1, signal: ac.signal })).rejects.toThrow('interrupted');
  });
});
