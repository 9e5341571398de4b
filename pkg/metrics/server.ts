// The /metrics HTTP endpoint, and any other GET paths its owner adds (the agent's /healthz).
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Answers a GET of one path. */
export type Route = (res: ServerResponse) => void;

export class MetricsServer {
  private server: Server | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly routes: Record<string, Route> = {},
  ) {}

  /** Listens on "host:port" (port 0: any free one); resolves the bound address. */
  async listen(address: string): Promise<string> {
    const idx = address.lastIndexOf(':');
    const host = address.slice(0, idx).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(idx + 1));
    const paths = ['/metrics', ...Object.keys(this.routes)].join(' and ');
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const route = req.method === 'GET' ? this.routes[path] : undefined;
      if (route) {
        route(res);
        return;
      }
      if (req.method !== 'GET' || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${paths}\n`);
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const bound = server.address() as AddressInfo;
    return `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
