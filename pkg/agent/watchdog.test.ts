import { FakeClock, FakeInformer, settle } from './testing/fakes';
import { Backoff, Watchdog } from './watchdog';

const policy = { baseMs: 1000, maxMs: 8000, stableMs: 60_000 };

test('backoff doubles up to the cap, resets after a stable watch, and a 410 relists at once', () => {
  const b = new Backoff(policy);
  expect([0, 0, 0, 0, 0].map(() => b.failed(new Error('x'), 0))).toEqual([1000, 2000, 4000, 8000, 8000]);
  b.connected(0);
  expect(b.failed(new Error('x'), 59_000)).toBe(8000); // up less than stableMs: still failing
  b.connected(100_000);
  expect(b.failed(new Error('x'), 160_000)).toBe(1000); // up a minute: a fresh start
  expect(b.failed(Object.assign(new Error('Gone'), { statusCode: 410 }), 160_001)).toBe(0);
});

test('an informer that stops on an error is started again after the backoff', async () => {
  const clock = new FakeClock();
  const inf = new FakeInformer<{ metadata: { name: string } }>();
  const errors: number[] = [];
  let connects = 0;
  const dog = new Watchdog(inf, clock, { onConnect: () => connects++, onError: (_e, d) => errors.push(d) }, policy);
  dog.start();
  await settle();
  expect([inf.starts, connects, dog.watching]).toEqual([1, 1, true]);

  inf.fail(Object.assign(new Error('Internal Server Error'), { statusCode: 500 }));
  expect(dog.watching).toBe(false);
  expect(errors).toEqual([1000]);
  await clock.advance(999);
  expect(inf.starts).toBe(1);
  await clock.advance(1);
  expect([inf.starts, dog.watching]).toEqual([2, true]);

  // The LIST of a restart fails as well: the delay grows.
  inf.fail(new Error('ECONNRESET'));
  inf.nextStartError = new Error('ECONNREFUSED');
  await clock.advance(2000);
  expect(inf.starts).toBe(3);
  expect(errors).toEqual([1000, 2000, 4000]);
  await clock.advance(4000);
  expect([inf.starts, dog.watching]).toEqual([4, true]);
});

test('stop() cancels a pending restart, and the abort it causes restarts nothing', async () => {
  const clock = new FakeClock();
  const inf = new FakeInformer<{ metadata: { name: string } }>();
  const dog = new Watchdog(inf, clock, {}, policy);
  dog.start();
  await settle();
  inf.fail(new Error('boom'));
  await dog.stop();
  inf.fail(new Error('aborted')); // what the watch's abort reports
  await clock.advance(60_000);
  expect([inf.starts, inf.stops, clock.pending]).toEqual([1, 1, []]);
});
