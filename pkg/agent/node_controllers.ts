// The two controllers fed by the runtime probe: the KrillRuntimeReady condition
// (nodes/status) and the krill.dev/ feature labels (nodes). Decisions are in
// ./health and ./labels; this is the I/O around them.
import type { VersionResponse } from '../../api/runtime/v1/api';
import type { Logger } from '../log/logger';
import { CONDITION_TYPE, conditionPatch, decideCondition, transitionEvent, type NodeCondition, type Observation, type Probe } from './health';
import { featureLabels, labelPatch, READY_LABEL, type HostFacts } from './labels';
import type { AgentMetrics } from './metrics';
import type { NodeView } from './node_view';
import { errorText, type KubeApi } from './types';

export class ConditionController {
  private current: NodeCondition | undefined;
  private started = false;

  constructor(
    private readonly kube: KubeApi,
    private readonly nodeName: string,
    private readonly view: NodeView,
    private readonly metrics: AgentMetrics,
    private readonly log: Logger,
    private readonly heartbeatSeconds: number,
    private readonly now: () => number,
  ) {}

  async update(obs: Observation): Promise<void> {
    if (!this.started) {
      // What the Node carries (a previous agent's write): an agent restart continues it rather than flapping it.
      this.current = this.view.condition(CONDITION_TYPE);
      this.started = true;
    }
    const decision = decideCondition(this.current, obs, new Date(this.now()), this.heartbeatSeconds);
    if (!decision.write) return;
    await this.kube.patchNodeStatus(this.nodeName, conditionPatch(decision.write));
    const before = this.current;
    this.current = decision.write;
    this.view.applyCondition(decision.write, CONDITION_TYPE);
    this.metrics.setCondition(decision.write.status);
    if (!decision.transition) return;
    this.log.info({ from: before?.status ?? 'none', to: obs.status, reason: obs.reason, message: obs.message }, 'KrillRuntimeReady changed');
    const node = this.view.object ?? { metadata: { name: this.nodeName } };
    await this.kube.nodeEvent(node, transitionEvent(obs)).catch((err: unknown) => this.log.warn({ err: errorText(err) }, 'could not post the transition Event'));
  }
}

export class LabelController {
  private desired: Record<string, string> | undefined;
  private synced = false;

  constructor(
    private readonly kube: KubeApi,
    private readonly nodeName: string,
    private readonly view: NodeView,
    private readonly host: HostFacts,
  ) {}

  /** `version` is krilld's answer when the probe succeeded (undefined when it did not). */
  async update(probe: Probe, obs: Observation, version: VersionResponse | undefined): Promise<void> {
    if (probe.ok && version) {
      this.desired = featureLabels(obs.status === 'True', { runtimeVersion: version.runtimeVersion, handlers: probe.status.runtimeHandlers }, this.host);
      this.synced = true;
    } else {
      // krilld does not answer: it is not ready, and what it offers is unknown, so the other labels stay.
      this.desired = { ...(this.desired ?? {}), [READY_LABEL]: 'false' };
    }
    const patch = labelPatch(this.view.labels(), this.desired, this.synced);
    if (!patch) return;
    await this.kube.patchNodeMetadata(this.nodeName, { labels: patch });
    this.view.applyMetadata({ labels: patch });
  }
}
