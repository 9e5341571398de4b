// Exec, Attach and PortForward: each checks its target, then hands back a
// single-use URL on the streaming server, whose sessions run through this
// backend (conmon for exec and attach; a socket the spawn server makes inside
// the pod's network namespace for port-forward).
import type { Duplex } from 'node:stream';
import type { ContainerManager } from '../container/manager';
import type { Container } from '../container/types';
import { failedPrecondition, invalidArgument, notFound } from '../errors/errors';
import type { Launcher } from '../spawn/launcher';
import { dialPodPort } from '../network/dial';
import type { SandboxManager } from '../sandbox/manager';
import type { StreamingBackend, TerminalSize } from '../streaming/backend';
import type { StreamingServer } from '../streaming/server';
import type { RuntimeServiceHandlers } from './rpc';

async function applyResizes(sizes: AsyncIterable<TerminalSize>, resize: (w: number, h: number) => Promise<void>): Promise<void> {
  for await (const size of sizes) await resize(size.width, size.height).catch(() => undefined);
}

export function streamingBackend(containers: ContainerManager, sandboxes: SandboxManager, launcher: Launcher): StreamingBackend {
  return {
    async exec(containerId, cmd, tty, streams, resize, signal) {
      const session = await containers.exec(containerId, cmd, tty, streams);
      // A client that goes away takes its command with it: nothing is left running unseen.
      const onAbort = (): void => session.kill();
      signal.addEventListener('abort', onAbort, { once: true });
      void applyResizes(resize, (w, h) => session.resize(w, h));
      try {
        return await session.done;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },

    async attach(containerId, tty, streams, resize, signal) {
      // A tty session has no stderr stream; a container without a terminal still writes one: merge it.
      const io = tty && !streams.stderr ? { ...streams, stderr: streams.stdout } : streams;
      const a = containers.attach(containerId, io);
      // Detaching never stops the container; conmon closes its stdin only when it was created stdin_once.
      const onAbort = (): void => a.session.close();
      signal.addEventListener('abort', onAbort, { once: true });
      void applyResizes(resize, a.resize);
      try {
        await a.session.done;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },

    async portForward(podSandboxId, port, signal): Promise<Duplex> {
      const pod = sandboxes.get(podSandboxId);
      if (!pod) throw notFound(`pod sandbox ${podSandboxId} not found`);
      const conn = await dialPodPort(launcher, pod.meta.namespaces.network, port, signal);
      signal.addEventListener('abort', () => conn.destroy(), { once: true });
      return conn;
    },
  };
}

function runningContainer(containers: ContainerManager, idOrPrefix: string): Container {
  if (!idOrPrefix) throw invalidArgument('container_id is required');
  const c = containers.find(idOrPrefix);
  if (c.status.state !== 'running') throw failedPrecondition(`container ${c.id} is not running (it is ${c.status.state})`);
  return c;
}

export function streamingHandlers(containers: ContainerManager, sandboxes: SandboxManager, server: StreamingServer): Partial<RuntimeServiceHandlers> {
  return {
    exec: async (req) => {
      const c = runningContainer(containers, req.containerId);
      return { url: server.register('exec', { ...req, containerId: c.id }) };
    },
    attach: async (req) => {
      const c = runningContainer(containers, req.containerId);
      if (req.stdin && !c.meta.config.stdin) throw invalidArgument(`stdin: container ${c.id} was not created with stdin open`);
      // A tty that does not match the container's is served as well as it can be (containerd and CRI-O do
      // the same): a terminal's output all arrives on stdout; without one, stderr joins stdout.
      return { url: server.register('attach', { ...req, containerId: c.id }) };
    },
    portForward: async (req) => {
      if (!req.podSandboxId) throw invalidArgument('pod_sandbox_id is required');
      const pod = sandboxes.find(req.podSandboxId);
      if (pod.status.state !== 'ready') throw failedPrecondition(`pod sandbox ${pod.id} is not ready`);
      return { url: server.register('portforward', { ...req, podSandboxId: pod.id }) };
    },
  };
}
