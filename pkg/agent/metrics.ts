// The agent's Prometheus metrics (prom-client), one registry per agent.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();

  readonly apiRequests = new Counter({
    name: 'krill_agent_api_requests_total',
    help: 'Requests the agent made to the Kubernetes API server, by verb and resource (a watch counts once per connection).',
    labelNames: ['verb', 'resource'] as const,
    registers: [this.registry],
  });

  readonly watches = new Gauge({
    name: 'krill_agent_watches',
    help: 'Watch connections to the API server that are up now.',
    registers: [this.registry],
  });

  readonly informerRestarts = new Counter({
    name: 'krill_agent_informer_restarts_total',
    help: 'Informers restarted by the watchdog after an error, by resource.',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  readonly condition = new Gauge({
    name: 'krill_agent_runtime_ready_condition',
    help: 'The KrillRuntimeReady condition the agent last wrote: 1 for the status it has, 0 for the others.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly reloads = new Counter({
    name: 'krill_agent_reloads_total',
    help: "Admin/Reload calls to krilld, by result (ok, rejected, error).",
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly imagePulls = new Counter({
    name: 'krill_agent_image_cache_pulls_total',
    help: 'Image cache pulls through CRI, by result (ok, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'krill_agent_' });
  }

  setCondition(status: string): void {
    for (const s of ['True', 'False', 'Unknown']) this.condition.set({ status: s }, s === status ? 1 : 0);
  }
}
