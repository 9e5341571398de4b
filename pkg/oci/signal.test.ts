import { KrillError } from '../errors/errors';
import { Signal as CriSignal } from '../../api/runtime/v1/api';
import { criStopSignal, imageStopSignal, parseSignal, SIGTERM, toCriSignal } from './signal';

test('names with and without SIG, any case, and aliases', () => {
  expect(parseSignal('SIGQUIT')).toEqual({ name: 'SIGQUIT', number: 3 });
  expect(parseSignal('quit')).toEqual({ name: 'SIGQUIT', number: 3 });
  expect(parseSignal('SIGIOT')).toEqual({ name: 'SIGABRT', number: 6 });
  expect(parseSignal('CLD')).toEqual({ name: 'SIGCHLD', number: 17 });
  expect(parseSignal('SIGWINCH')).toEqual({ name: 'SIGWINCH', number: 28 });
});

test('numbers', () => {
  expect(parseSignal('9')).toEqual({ name: 'SIGKILL', number: 9 });
  expect(parseSignal('15')).toEqual(SIGTERM);
  expect(parseSignal('37')).toEqual({ name: 'SIGRTMIN+3', number: 37 });
  expect(parseSignal('64')).toEqual({ name: 'SIGRTMAX', number: 64 });
  expect(parseSignal('62')).toEqual({ name: 'SIGRTMAX-2', number: 62 });
});

test('real-time signals by name', () => {
  expect(parseSignal('SIGRTMIN')).toEqual({ name: 'SIGRTMIN', number: 34 });
  expect(parseSignal('RTMIN+3')).toEqual({ name: 'SIGRTMIN+3', number: 37 });
  expect(parseSignal('SIGRTMAX-1')).toEqual({ name: 'SIGRTMAX-1', number: 63 });
});

test('not signals', () => {
  for (const bad of ['', 'SIGFOO', '0', '65', '32', '-1', 'SIGRTMIN-1', 'SIGRTMAX+1', '1.5']) expect(parseSignal(bad)).toBeUndefined();
});

test('the image STOPSIGNAL, SIGTERM by default, a bad one names the image config', () => {
  expect(imageStopSignal(undefined)).toEqual(SIGTERM);
  expect(imageStopSignal('')).toEqual(SIGTERM);
  expect(imageStopSignal('SIGINT')).toEqual({ name: 'SIGINT', number: 2 });
  let err: unknown;
  try {
    imageStopSignal('SIGNOPE');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(KrillError);
  expect((err as KrillError).code).toBe('InvalidArgument');
  expect((err as KrillError).message).toMatch(/StopSignal "SIGNOPE"/);
});

test('the CRI stop signal (ContainerConfig.stop_signal): by enum name, real-time ones included; 0 leaves it to the image', () => {
  expect(criStopSignal(CriSignal.SIGNAL_RUNTIME_DEFAULT)).toBeUndefined();
  expect(criStopSignal(CriSignal.SIGNAL_SIGQUIT)).toEqual({ name: 'SIGQUIT', number: 3 });
  expect(criStopSignal(CriSignal.SIGNAL_SIGRTMINPLUS3)).toEqual({ name: 'SIGRTMIN+3', number: 37 });
  expect(criStopSignal(CriSignal.SIGNAL_SIGRTMAXMINUS1)).toEqual({ name: 'SIGRTMAX-1', number: 63 });
  expect(() => criStopSignal(999 as CriSignal)).toThrow(/config.stop_signal 999 is not a signal/);
});

test('every CRI signal maps to a Linux signal and back to itself (or to its alias)', () => {
  for (const v of Object.values(CriSignal).filter((x): x is CriSignal => typeof x === 'number' && x > 0)) {
    const sig = criStopSignal(v)!;
    expect(sig.number).toBeGreaterThan(0);
    expect(criStopSignal(toCriSignal(sig))).toEqual(sig);
  }
  expect(toCriSignal({ name: 'SIGTERM', number: 15 })).toBe(CriSignal.SIGNAL_SIGTERM);
});
