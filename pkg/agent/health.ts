// Runtime health as a NodeCondition: what krilld's CRI Status says, turned into
// KrillRuntimeReady, and when the agent must write it. Pure: no I/O, time passed in.
import type { StatusResponse } from '../../api/runtime/v1/api';

export const CONDITION_TYPE = 'KrillRuntimeReady';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** What one probe saw. */
export interface Observation {
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** The NodeCondition as the API server holds it (times as RFC 3339 text). */
export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

/** A probe result: krilld's answer, or why there was none. */
export type Probe = { ok: true; status: StatusResponse } | { ok: false; error: string };

export function observe(probe: Probe): Observation {
  if (!probe.ok) return { status: 'False', reason: 'RuntimeUnreachable', message: `CRI Status failed: ${probe.error}` };
  const conditions = probe.status.status?.conditions ?? [];
  const find = (type: string) => conditions.find((c) => c.type === type);
  const runtime = find('RuntimeReady');
  const network = find('NetworkReady');
  if (!runtime || !network) {
    const missing = [runtime ? '' : 'RuntimeReady', network ? '' : 'NetworkReady'].filter(Boolean).join(', ');
    return { status: 'Unknown', reason: 'ConditionsMissing', message: `krilld's Status lacks ${missing}` };
  }
  if (!runtime.status) return { status: 'False', reason: 'RuntimeNotReady', message: detail(runtime.reason, runtime.message) };
  if (!network.status) return { status: 'False', reason: 'NetworkNotReady', message: detail(network.reason, network.message) };
  return { status: 'True', reason: 'KrillReady', message: 'krilld reports RuntimeReady and NetworkReady' };
}

function detail(reason: string, message: string): string {
  return [reason, message].filter((s) => s !== '').join(': ') || 'no reason given';
}

export interface ConditionDecision {
  /** The condition to write, or undefined when nothing needs writing. */
  write: NodeCondition | undefined;
  /** The status changed (or there was no condition): an Event is due. */
  transition: boolean;
}

/**
 * What to write given the condition the Node carries now (as last read or written), this probe's
 * observation and the time. Writes on a change of status, reason or message, and otherwise once the
 * heartbeat is due; lastTransitionTime moves only when the status changes.
 */
export function decideCondition(current: NodeCondition | undefined, obs: Observation, now: Date, heartbeatSeconds: number): ConditionDecision {
  const nowText = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const transition = current === undefined || current.status !== obs.status;
  const changed = transition || (current.reason ?? '') !== obs.reason || (current.message ?? '') !== obs.message;
  const last = current?.lastHeartbeatTime ? Date.parse(current.lastHeartbeatTime) : NaN;
  const heartbeatDue = Number.isNaN(last) || now.getTime() - last >= heartbeatSeconds * 1000;
  if (!changed && !heartbeatDue) return { write: undefined, transition: false };
  return {
    write: {
      type: CONDITION_TYPE,
      status: obs.status,
      reason: obs.reason,
      message: obs.message,
      lastHeartbeatTime: nowText,
      lastTransitionTime: transition || !current?.lastTransitionTime ? nowText : current.lastTransitionTime,
    },
    transition,
  };
}

/** The strategic-merge patch of nodes/status that sets just this condition (merge key: type). */
export function conditionPatch(condition: NodeCondition): object {
  return { status: { conditions: [condition] } };
}

/** The strategic-merge patch that removes the condition (uninstall). */
export function conditionRemovalPatch(): object {
  return { status: { conditions: [{ type: CONDITION_TYPE, $patch: 'delete' }] } };
}

/** The Event for a transition: Normal when the runtime became ready, Warning otherwise. */
export function transitionEvent(obs: Observation): { type: 'Normal' | 'Warning'; reason: string; message: string } {
  return obs.status === 'True'
    ? { type: 'Normal', reason: 'KrillRuntimeReady', message: obs.message }
    : { type: 'Warning', reason: obs.status === 'False' ? 'KrillRuntimeNotReady' : 'KrillRuntimeUnknown', message: `${obs.reason}: ${obs.message}` };
}
