// The agent's HTTP endpoint: /metrics (Prometheus) and /healthz, on the daemon's metrics server.
import type { Registry } from 'prom-client';
import { MetricsServer } from '../metrics/server';

/** What /healthz reports: healthy while the agent runs its loops. */
export type HealthCheck = () => { ok: boolean; detail: Record<string, unknown> };

export function agentHttpServer(registry: Registry, health: HealthCheck): MetricsServer {
  return new MetricsServer(registry, {
    '/healthz': (res) => {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify({ ok: h.ok, ...h.detail })}\n`);
    },
  });
}
