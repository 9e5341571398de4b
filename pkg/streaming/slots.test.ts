import { KrillError } from '../errors/errors';
import { SessionSlots } from './slots';

describe('SessionSlots', () => {
  test('refuses the slot beyond the cap with ResourceExhausted, per key', () => {
    const slots = new SessionSlots(2);
    slots.acquire('a', 'container a');
    slots.acquire('a', 'container a');
    const err = (() => {
      try {
        slots.acquire('a', 'container a');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(KrillError);
    expect(err).toMatchObject({ code: 'ResourceExhausted' });
    expect((err as Error).message).toMatch(/^container a has 2 streaming sessions open or pending already \(streaming\.max_sessions_per_container\)/);
    expect(() => slots.acquire('b', 'container b')).not.toThrow();
    expect(slots.count('a')).toBe(2);
  });

  test('a released slot can be taken again; releasing twice frees one slot only', () => {
    const slots = new SessionSlots(2);
    const first = slots.acquire('a', 'a');
    slots.acquire('a', 'a');
    first.release();
    first.release();
    expect(slots.count('a')).toBe(1);
    slots.acquire('a', 'a');
    expect(() => slots.acquire('a', 'a')).toThrow(KrillError);
  });

  test('setMax: the new limit counts for the next acquire; slots held stay', () => {
    const slots = new SessionSlots(1);
    slots.acquire('a', 'a');
    expect(() => slots.acquire('a', 'a')).toThrow(KrillError);
    slots.setMax(3);
    slots.acquire('a', 'a');
    slots.acquire('a', 'a');
    slots.setMax(1);
    expect(slots.count('a')).toBe(3);
    expect(() => slots.acquire('a', 'a')).toThrow(/1 streaming sessions/);
  });
});
