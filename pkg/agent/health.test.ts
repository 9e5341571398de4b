import type { StatusResponse } from '../../api/runtime/v1/api';
import { conditionPatch, conditionRemovalPatch, decideCondition, observe, transitionEvent, type NodeCondition } from './health';

const status = (runtime: boolean, network: boolean): StatusResponse => ({
  status: {
    conditions: [
      { type: 'RuntimeReady', status: runtime, reason: runtime ? '' : 'RuntimeBinaryMissing', message: runtime ? '' : 'not executable: /usr/bin/runc' },
      { type: 'NetworkReady', status: network, reason: network ? '' : 'NoCNIConfig', message: '' },
    ],
  },
  info: {},
  runtimeHandlers: [],
  features: undefined,
});

describe('observe', () => {
  test('both ready: True', () => expect(observe({ ok: true, status: status(true, true) }).status).toBe('True'));
  test('runtime not ready: False with its reason', () =>
    expect(observe({ ok: true, status: status(false, true) })).toEqual({ status: 'False', reason: 'RuntimeNotReady', message: 'RuntimeBinaryMissing: not executable: /usr/bin/runc' }));
  test('network not ready: False', () => expect(observe({ ok: true, status: status(true, false) })).toMatchObject({ status: 'False', reason: 'NetworkNotReady', message: 'NoCNIConfig' }));
  test('no answer (socket down, timeout): False', () =>
    expect(observe({ ok: false, error: '14 UNAVAILABLE: No connection established' })).toMatchObject({ status: 'False', reason: 'RuntimeUnreachable' }));
  test('conditions missing: Unknown', () =>
    expect(observe({ ok: true, status: { ...status(true, true), status: { conditions: [] } } })).toMatchObject({ status: 'Unknown', message: "krilld's Status lacks RuntimeReady, NetworkReady" }));
});

describe('decideCondition', () => {
  const ready = { status: 'True' as const, reason: 'KrillReady', message: 'ok' };
  const down = { status: 'False' as const, reason: 'RuntimeUnreachable', message: 'gone' };
  const t0 = new Date('2026-01-01T00:00:00Z');
  const at = (s: number) => new Date(t0.getTime() + s * 1000);

  test('no condition yet: written, a transition', () => {
    const d = decideCondition(undefined, ready, t0, 30);
    expect(d.transition).toBe(true);
    expect(d.write).toEqual({ type: 'KrillRuntimeReady', ...ready, lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' });
  });

  test('same status within the heartbeat: nothing written (an agent restart does not flap it)', () => {
    const current: NodeCondition = { type: 'KrillRuntimeReady', ...ready, lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2025-12-31T00:00:00Z' };
    expect(decideCondition(current, ready, at(29), 30)).toEqual({ write: undefined, transition: false });
  });

  test('heartbeat due: written, transition time kept', () => {
    const current: NodeCondition = { type: 'KrillRuntimeReady', ...ready, lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2025-12-31T00:00:00Z' };
    const d = decideCondition(current, ready, at(30), 30);
    expect(d.transition).toBe(false);
    expect(d.write).toMatchObject({ lastHeartbeatTime: '2026-01-01T00:00:30Z', lastTransitionTime: '2025-12-31T00:00:00Z' });
  });

  test('status change: written at once, transition time moves', () => {
    const current: NodeCondition = { type: 'KrillRuntimeReady', ...ready, lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2025-12-31T00:00:00Z' };
    const d = decideCondition(current, down, at(2), 30);
    expect(d.transition).toBe(true);
    expect(d.write).toMatchObject({ status: 'False', lastTransitionTime: '2026-01-01T00:00:02Z' });
  });

  test('message change without status change: written, no transition', () => {
    const current: NodeCondition = { type: 'KrillRuntimeReady', ...down, lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2025-12-31T00:00:00Z' };
    const d = decideCondition(current, { ...down, message: 'still gone' }, at(2), 30);
    expect(d).toMatchObject({ transition: false, write: { message: 'still gone', lastTransitionTime: '2025-12-31T00:00:00Z' } });
  });
});

test('patches touch only this condition (strategic merge by type)', () => {
  expect(conditionPatch({ type: 'KrillRuntimeReady', status: 'True' })).toEqual({ status: { conditions: [{ type: 'KrillRuntimeReady', status: 'True' }] } });
  expect(conditionRemovalPatch()).toEqual({ status: { conditions: [{ type: 'KrillRuntimeReady', $patch: 'delete' }] } });
});

test('events: Normal when ready, Warning otherwise', () => {
  expect(transitionEvent({ status: 'True', reason: 'KrillReady', message: 'm' }).type).toBe('Normal');
  expect(transitionEvent({ status: 'False', reason: 'RuntimeUnreachable', message: 'm' })).toEqual({ type: 'Warning', reason: 'KrillRuntimeNotReady', message: 'RuntimeUnreachable: m' });
});
