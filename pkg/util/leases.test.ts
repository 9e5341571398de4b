import { Leases } from './leases';

test('a name stays leased until every lease on it is released, each release counting once', () => {
  const l = new Leases();
  const a = l.take(['x', 'y', 'x']);
  const b = l.take(['x']);
  expect(l.has('x') && l.has('y')).toBe(true);
  a();
  a();
  expect(l.has('x')).toBe(true);
  expect(l.has('y')).toBe(false);
  b();
  expect(l.has('x')).toBe(false);
});
