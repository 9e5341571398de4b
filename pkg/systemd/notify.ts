// systemd's readiness protocol (sd_notify(3)). Run as a Type=notify service,
// krilld finds NOTIFY_SOCKET in its environment and tells systemd READY=1
// once it serves the CRI socket and STOPPING=1 when a stop begins. The
// message is a unix datagram, which Node.js cannot send: the small helper
// cmd/krill-notify sends it, started through the spawn server like every
// other child. A failure to notify is logged, never fatal.
import type { Launcher } from '../spawn/launcher';
import { run } from '../spawn/run';
import type { Logger } from '../log/logger';

const NOTIFY_TIMEOUT_MS = 5000;

/**
 * Takes NOTIFY_SOCKET out of `env` and returns it ('' when unset). No child
 * may inherit it: runc, seeing it, would hand the socket to containers and
 * wait for them to be ready, and conmon would pass it on.
 */
export function takeNotifySocket(env: NodeJS.ProcessEnv): string {
  const socket = env.NOTIFY_SOCKET ?? '';
  delete env.NOTIFY_SOCKET;
  return socket;
}

export interface NotifierOptions {
  /** NOTIFY_SOCKET as systemd set it; '' means not run by systemd: notify() does nothing. */
  socket: string;
  launcher: Launcher;
  /** The krill-notify helper (dist/bin/krill-notify). */
  binary: string;
  /** The service's main process (krilld), named in the messages' credentials. */
  mainPid: number;
  log: Logger;
}

export class SystemdNotifier {
  constructor(private readonly opts: NotifierOptions) {}

  get enabled(): boolean {
    return this.opts.socket !== '';
  }

  /** Sends `assignments` ("READY=1", "STATUS=...") as one message; resolves whether it was sent. */
  async notify(...assignments: string[]): Promise<boolean> {
    const { socket, launcher, binary, mainPid, log } = this.opts;
    if (!socket) return false;
    try {
      const r = await run(launcher, binary, ['--pid', String(mainPid), ...assignments], {
        env: { NOTIFY_SOCKET: socket },
        timeoutMs: NOTIFY_TIMEOUT_MS,
      });
      if (r.code === 0) {
        log.debug({ notify_socket: socket, sent: assignments }, 'notified systemd');
        return true;
      }
      log.warn({ notify_socket: socket, sent: assignments, stderr: r.stderr.trim(), exit_code: r.code, timed_out: r.timedOut }, 'could not notify systemd');
    } catch (err) {
      log.warn({ notify_socket: socket, sent: assignments, err }, 'could not notify systemd');
    }
    return false;
  }

  /** READY=1: the CRI socket serves. MAINPID names krilld in case a wrapper started it. */
  ready(status: string): Promise<boolean> {
    return this.notify('READY=1', `STATUS=${status}`, `MAINPID=${this.opts.mainPid}`);
  }

  /** STOPPING=1: a stop has begun (calls in flight finish; containers keep running). */
  stopping(status: string): Promise<boolean> {
    return this.notify('STOPPING=1', `STATUS=${status}`);
  }
}
