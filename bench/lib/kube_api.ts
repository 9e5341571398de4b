// A minimal Kubernetes API client for the kubelet benchmark: JSON requests and
// a watch over HTTPS with the client certificate of a kubeconfig that names
// its files (as hack/testbed writes them). The bench needs four calls and
// millisecond timestamps of watch events, nothing a full client adds.
import { readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';

export interface KubeCredentials {
  server: URL;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** The server and certificate files of a kubeconfig with one cluster and one user. */
export function readKubeconfig(file: string): KubeCredentials {
  const text = readFileSync(file, 'utf8');
  const field = (name: string): string => {
    const m = new RegExp(`^\\s*${name}:\\s*(\\S+)\\s*$`, 'm').exec(text);
    if (!m) throw new Error(`${file}: no ${name}`);
    return m[1]!;
  };
  return {
    server: new URL(field('server')),
    ca: readFileSync(field('certificate-authority')),
    cert: readFileSync(field('client-certificate')),
    key: readFileSync(field('client-key')),
  };
}

export interface KubeObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; creationTimestamp?: string };
  status?: Record<string, unknown>;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export class KubeApi {
  constructor(private readonly creds: KubeCredentials) {}

  private options(method: string, path: string): RequestOptions {
    return {
      method,
      host: this.creds.server.hostname,
      port: this.creds.server.port || 443,
      path,
      ca: this.creds.ca,
      cert: this.creds.cert,
      key: this.creds.key,
      headers: { accept: 'application/json', 'content-type': 'application/json' },
    };
  }

  /** One request; a status of 400 or more is an error naming the call and the server's message. */
  call<T>(method: string, path: string, body?: unknown, okStatuses: number[] = []): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request(this.options(method, path), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 400 && !okStatuses.includes(status)) {
            reject(new Error(`${method} ${path}: ${status} ${text.slice(0, 300)}`));
            return;
          }
          try {
            resolve((text ? JSON.parse(text) : {}) as T);
          } catch (err) {
            reject(new Error(`${method} ${path}: not JSON: ${(err as Error).message}`));
          }
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /**
   * Watches `path` (a collection), calling `onEvent` for every event as it
   * arrives. Resolves once the server has answered; `close` ends the watch.
   */
  watch<T>(path: string, onEvent: (e: WatchEvent<T>) => void, onEnd?: (err?: Error) => void): Promise<{ close(): void }> {
    const sep = path.includes('?') ? '&' : '?';
    let closing = false;
    return new Promise((resolve, reject) => {
      const req = request(this.options('GET', `${path}${sep}watch=true`), (res) => {
        if ((res.statusCode ?? 0) >= 400) {
          reject(new Error(`watch ${path}: ${res.statusCode}`));
          res.resume();
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
          }
        });
        res.on('error', () => undefined);
        // The server may end a watch at any time (its timeout, a slow reader): the caller resumes it.
        res.on('close', () => {
          if (!closing) onEnd?.();
        });
        resolve({
          close: () => {
            closing = true;
            req.destroy();
          },
        });
      });
      req.on('error', (err) => reject(err));
      req.end();
    });
  }
}
