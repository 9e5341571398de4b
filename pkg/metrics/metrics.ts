// Krill's Prometheus metrics: one registry per daemon (tests run several
// daemons in one process), named the Prometheus way: krill_ prefix, base
// units (_seconds, _bytes), _total for counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const SLOW_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class Metrics {
  readonly registry = new Registry();

  readonly rpcTotal = new Counter({
    name: 'krill_grpc_requests_total',
    help: 'CRI calls handled, by method and gRPC status code.',
    labelNames: ['method', 'code'] as const,
    registers: [this.registry],
  });

  readonly rpcSeconds = new Histogram({
    name: 'krill_grpc_request_duration_seconds',
    help: 'Time to answer a CRI call, by method and gRPC status code.',
    labelNames: ['method', 'code'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly configReloadsTotal = new Counter({
    name: 'krill_config_reloads_total',
    help: 'Reloads of the configuration (admin Reload call or SIGHUP), by result (ok, error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly imagePullsTotal = new Counter({
    name: 'krill_image_pulls_total',
    help: 'Image pulls by result (success, failure).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly imagePullBytesTotal = new Counter({
    name: 'krill_image_pull_bytes_total',
    help: 'Bytes downloaded from registries.',
    registers: [this.registry],
  });

  readonly imagePullSeconds = new Histogram({
    name: 'krill_image_pull_duration_seconds',
    help: 'Time to pull an image, by result.',
    labelNames: ['result'] as const,
    buckets: SLOW_BUCKETS,
    registers: [this.registry],
  });

  readonly cniSeconds = new Histogram({
    name: 'krill_cni_operation_duration_seconds',
    help: 'Time of a CNI operation (ADD, DEL, CHECK) on a pod, by operation and result.',
    labelNames: ['operation', 'result'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly runtimeSeconds = new Histogram({
    name: 'krill_runtime_operation_duration_seconds',
    help: 'Time of a conmon/runtime operation (create, start, stop, delete, update), by operation and result.',
    labelNames: ['operation', 'result'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly execSyncSeconds = new Histogram({
    name: 'krill_exec_sync_duration_seconds',
    help: 'Time of ExecSync calls, by result (exit code 0, non-zero, timeout, error).',
    labelNames: ['result'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'krill_' });
    // Both results from the start, so that a rate over them is defined before the first reload.
    for (const result of ['ok', 'error']) this.configReloadsTotal.inc({ result }, 0);
  }

  /** Counts objects by state at each scrape from the given sources (state → count). */
  countStates(sources: { pods: () => Record<string, number>; containers: () => Record<string, number> }): void {
    const fill = (gauge: Gauge<'state'>, counts: Record<string, number>): void => {
      gauge.reset();
      for (const [state, n] of Object.entries(counts)) gauge.set({ state }, n);
    };
    this.registry.registerMetric(
      new Gauge({ name: 'krill_pods', help: 'Pod sandboxes by state.', labelNames: ['state'] as const, registers: [], collect() { fill(this, sources.pods()); } }),
    );
    this.registry.registerMetric(
      new Gauge({ name: 'krill_containers', help: 'Containers by state.', labelNames: ['state'] as const, registers: [], collect() { fill(this, sources.containers()); } }),
    );
  }

  /** The CallObserver of pkg/server/rpc.ts. */
  observeCall = (method: string, code: string, seconds: number): void => {
    this.rpcTotal.inc({ method, code });
    this.rpcSeconds.observe({ method, code }, seconds);
  };

  /** Times `fn` into `histogram` with result success/failure. */
  async time<T>(histogram: Histogram<'operation' | 'result'>, operation: string, fn: () => Promise<T>): Promise<T> {
    const end = histogram.startTimer({ operation });
    try {
      const out = await fn();
      end({ result: 'success' });
      return out;
    } catch (err) {
      end({ result: 'failure' });
      throw err;
    }
  }
}
