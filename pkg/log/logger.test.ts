import { Writable } from 'node:stream';
import { repeatedKeys, topLevelKeys } from '../../test/harness/json_keys';
import { createLogger, setLogLevel } from './logger';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, stream };
}

test('a key bound again by a child is written once, with the child value', async () => {
  const { lines, stream } = capture();
  const log = createLogger('debug', stream);
  const streaming = log.child({ component: 'streaming', pod_id: 'p1' });
  streaming.child({ pod_id: 'p2', container_id: 'c1' }).info({ attempt: 3 }, 'hello');
  log.info('root');
  await new Promise((r) => setImmediate(r));
  expect(lines).toHaveLength(2);
  expect(repeatedKeys(lines[0]!)).toEqual([]);
  expect(JSON.parse(lines[0]!)).toMatchObject({ component: 'streaming', pod_id: 'p2', container_id: 'c1', attempt: 3, msg: 'hello' });
  expect(topLevelKeys(lines[1]!)).toEqual(['level', 'time', 'component', 'msg']);
});

test("a call's field that a binding carries is left to the binding", async () => {
  const { lines, stream } = capture();
  const log = createLogger('debug', stream).child({ pod_id: 'p1' });
  log.info({ pod_id: 'p1', ms: 5 }, 'torn down');
  log.info(new Error('boom'), 'failed');
  await new Promise((r) => setImmediate(r));
  expect(lines.map(repeatedKeys)).toEqual([[], []]);
  expect(JSON.parse(lines[0]!)).toMatchObject({ pod_id: 'p1', ms: 5, msg: 'torn down' });
  expect(JSON.parse(lines[1]!)).toMatchObject({ pod_id: 'p1', msg: 'failed' });
});

test('children keep their parent level unless told otherwise', () => {
  const log = createLogger('warn', capture().stream);
  expect(log.child({ a: 1 }).level).toBe('warn');
  expect(log.child({ a: 1 }, { level: 'debug' }).level).toBe('debug');
});

test('the duplicate-key reader sees duplicates', () => {
  expect(topLevelKeys('{"a":1,"b":{"a":2},"a":"x:\\"y"}')).toEqual(['a', 'b', 'a']);
  expect(repeatedKeys('{"component":"krilld","component":"streaming"}')).toEqual(['component']);
});

test('setLogLevel reaches every logger of the tree, made before or after, but those given a level', async () => {
  const { lines, stream } = capture();
  const log = createLogger('info', stream);
  const early = log.child({ component: 'images' });
  const grandchild = early.child({ image: 'x' });
  const fixed = log.child({ component: 'fixed' }, { level: 'error' });
  early.debug('dropped');
  setLogLevel(log, 'debug');
  expect([log.level, early.level, grandchild.level, fixed.level]).toEqual(['debug', 'debug', 'debug', 'error']);
  early.debug('kept');
  grandchild.debug('kept too');
  expect(log.child({ later: 1 }).level).toBe('debug');
  expect(fixed.child({ b: 1 }).level).toBe('error');
  setLogLevel(grandchild, 'warn');
  expect([log.level, early.level]).toEqual(['warn', 'warn']);
  await new Promise((r) => setImmediate(r));
  expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['kept', 'kept too']);
});
