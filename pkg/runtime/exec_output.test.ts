import { CappedBuffer, EXEC_SYNC_OUTPUT_BUDGET, KUBELET_MAX_MESSAGE, fitOutput } from './exec_output';

const NOTE = /\[krill: output truncated: (.*) dropped; ExecSync keeps (\d+) bytes of stdout and stderr together\]\n$/;

describe('CappedBuffer', () => {
  test('keeps up to its limit across chunks and counts everything', () => {
    const b = new CappedBuffer(5);
    b.push(Buffer.from('abc'));
    b.push(Buffer.from('defg'));
    b.push(Buffer.from('hij'));
    expect(b.bytes().toString()).toBe('abcde');
    expect(b.total).toBe(10);
  });
});

describe('fitOutput', () => {
  test('output within the budget comes back untouched', () => {
    const r = fitOutput(Buffer.from('out'), Buffer.from('err'), 3, 3, 100);
    expect(r).toEqual({ stdout: Buffer.from('out'), stderr: Buffer.from('err'), truncated: false });
  });

  test('exactly the budget is not truncated', () => {
    const r = fitOutput(Buffer.alloc(60, 'o'), Buffer.alloc(40, 'e'), 60, 40, 100);
    expect(r.truncated).toBe(false);
  });

  test('one stream over: the other stays whole, the big one gets the rest, the note ends stderr', () => {
    const out = Buffer.alloc(1000, 'o');
    const r = fitOutput(out, Buffer.from('small\n'), 1000, 6, 400);
    expect(r.truncated).toBe(true);
    const stderr = r.stderr.toString();
    expect(stderr.startsWith('small\n[krill: output truncated: ')).toBe(true);
    expect(NOTE.exec(stderr)?.[1]).toBe(`${1000 - r.stdout.length} bytes of stdout`);
    expect(r.stdout.length + r.stderr.length).toBeLessThanOrEqual(400);
    expect(r.stdout.length).toBeGreaterThan(400 - 6 - 150);
  });

  test('both over: each keeps half of what the note leaves', () => {
    const r = fitOutput(Buffer.alloc(5000, 'o'), Buffer.alloc(5000, 'e'), 5000, 5000, 1000);
    const stderr = r.stderr.toString();
    const kept = stderr.replace(/\n?\[krill:.*\]\n$/, '');
    expect(kept.length).toBe(r.stdout.length);
    expect(NOTE.exec(stderr)?.[1]).toBe(`${5000 - r.stdout.length} bytes of stdout and ${5000 - kept.length} bytes of stderr`);
    expect(r.stdout.length + r.stderr.length).toBeLessThanOrEqual(1000);
    expect(r.stdout.length).toBeGreaterThan(400);
  });

  test('stderr without a final newline gets one before the note', () => {
    const r = fitOutput(Buffer.alloc(500, 'o'), Buffer.from('partial'), 500, 7, 300);
    expect(r.stderr.toString()).toMatch(/^partial\n\[krill: /);
  });

  test('buffers that already dropped bytes count as truncated even when what is left would fit', () => {
    const r = fitOutput(Buffer.alloc(10, 'o'), Buffer.alloc(0), 50, 0, 1000);
    expect(r.truncated).toBe(true);
    expect(r.stdout.length).toBe(10);
    expect(NOTE.exec(r.stderr.toString())?.[1]).toBe('40 bytes of stdout');
  });

  test('the default budget leaves room within kubelet’s message limit', () => {
    expect(EXEC_SYNC_OUTPUT_BUDGET).toBeLessThan(KUBELET_MAX_MESSAGE - 1024);
  });
});
