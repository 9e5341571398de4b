// A TCP connection to a port on a pod's loopback, for port-forward. Node
// cannot enter a network namespace; the spawn server (cmd/krill-spawn) makes
// the socket inside the pod's and relays it, so a connection costs two fds
// there and no process. Nothing is needed inside the pod, and nothing is
// exposed outside it.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { KrillError } from '../errors/errors';
import type { Launcher } from '../spawn/launcher';

const CONNECT_TIMEOUT_MS = 10_000;
const IPV4_LOOPBACK = '127.0.0.1';
const IPV6_LOOPBACK = '::1';

type Connect = (address: string) => Promise<Duplex>;

function hostConnect(port: number, signal: AbortSignal | undefined): Connect {
  return (address) =>
    new Promise((resolve, reject) => {
      const sock = connect({ host: address, port, timeout: CONNECT_TIMEOUT_MS, ...(signal ? { signal } : {}) });
      sock.once('timeout', () => sock.destroy(Object.assign(new Error(`connect ETIMEDOUT ${address}:${port}`), { code: 'ETIMEDOUT' })));
      sock.once('error', reject);
      sock.once('connect', () => {
        sock.setTimeout(0);
        sock.off('error', reject);
        resolve(sock);
      });
    });
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? (err as { code?: string }).code : undefined;
}

/** Duck-typed: errors from Node internals may come from another realm (jest's vm). */
function messageOf(err: unknown): string {
  const message = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : String(err);
}

/**
 * 127.0.0.1, then ::1 when nothing listens there (what containerd and CRI-O
 * do, so that a server bound to ::1 alone is reachable too).
 */
async function loopback(connectTo: Connect): Promise<Duplex> {
  try {
    return await connectTo(IPV4_LOOPBACK);
  } catch (v4) {
    if (codeOf(v4) !== 'ECONNREFUSED') throw v4;
    try {
      return await connectTo(IPV6_LOOPBACK);
    } catch (v6) {
      throw new Error(`${messageOf(v4)}; ${messageOf(v6)}`);
    }
  }
}

/**
 * Connects to `port` on the loopback of the network namespace at `netns`
 * (the host's when undefined: a host-network pod). The stream ends when
 * either side closes; destroying it closes the connection; `signal` ends a
 * connect in progress.
 */
export async function dialPodPort(launcher: Launcher, netns: string | undefined, port: number, signal?: AbortSignal): Promise<Duplex> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new KrillError('InvalidArgument', `port ${port} is out of range`);
  const connectTo: Connect = netns ? (address) => launcher.dial({ netns, address, port, timeoutMs: CONNECT_TIMEOUT_MS }, signal) : hostConnect(port, signal);
  try {
    return await loopback(connectTo);
  } catch (err) {
    throw new KrillError('Unavailable', `cannot connect to port ${port} ${netns ? 'in the pod' : 'on the host'}: ${messageOf(err)}`);
  }
}
