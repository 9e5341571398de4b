import { RecentVerdicts } from './recent_verdicts';

function setup(maxAgeMs = 1000) {
  let now = 0;
  const calls: string[] = [];
  let answer = 'ready';
  let fail = false;
  const pending: (() => void)[] = [];
  let hold = false;
  const v = new RecentVerdicts<{ id: string }, string>(
    async (k) => {
      calls.push(k.id);
      if (hold) await new Promise<void>((r) => pending.push(r));
      if (fail) throw new Error('check failed');
      return answer;
    },
    maxAgeMs,
    () => now,
  );
  return {
    v,
    calls,
    advance: (ms: number) => (now += ms),
    setAnswer: (a: string) => (answer = a),
    setFail: (f: boolean) => (fail = f),
    setHold: (h: boolean) => (hold = h),
    release: () => pending.splice(0).forEach((r) => r()),
  };
}

const flush = () => new Promise((r) => setImmediate(r));

test('the first ask waits for the check; later asks within the age reuse it', async () => {
  const t = setup();
  const k = { id: 'a' };
  await expect(t.v.get(k)).resolves.toBe('ready');
  t.advance(1000);
  expect(t.v.get(k)).toBe('ready');
  expect(t.calls).toEqual(['a']);
});

test('a stale verdict is answered at once while one new check runs; its result is used next', async () => {
  const t = setup();
  const k = { id: 'a' };
  await t.v.get(k);
  t.advance(1001);
  t.setAnswer('notready');
  t.setHold(true);
  expect(t.v.get(k)).toBe('ready');
  expect(t.v.get(k)).toBe('ready');
  expect(t.calls).toEqual(['a', 'a']);
  t.release();
  await flush();
  expect(t.v.get(k)).toBe('notready');
});

test('a verdict recorded by a fresh check elsewhere is reused', () => {
  const t = setup();
  const k = { id: 'a' };
  t.v.record(k, 'notready');
  expect(t.v.get(k)).toBe('notready');
  expect(t.calls).toEqual([]);
});

test('keys are the objects: another object is checked afresh', async () => {
  const t = setup();
  await t.v.get({ id: 'a' });
  await t.v.get({ id: 'a' });
  expect(t.calls).toEqual(['a', 'a']);
});

test('a failed first check rejects that ask and lets the next ask check again; a failed background check keeps the old verdict', async () => {
  const t = setup();
  const k = { id: 'a' };
  t.setFail(true);
  await expect(t.v.get(k)).rejects.toThrow('check failed');
  t.setFail(false);
  await expect(t.v.get(k)).resolves.toBe('ready');
  t.advance(2000);
  t.setFail(true);
  expect(t.v.get(k)).toBe('ready');
  await flush();
  expect(t.v.get(k)).toBe('ready');
  expect(t.calls).toEqual(['a', 'a', 'a', 'a']);
});
