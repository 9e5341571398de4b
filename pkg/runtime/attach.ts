// Attaching to a conmon attach socket (a container's or an exec session's
// stdio). conmon speaks SOCK_SEQPACKET, so the krill-seqpacket helper
// bridges it: packets come out framed as <u32 length><stream byte><data>.
import type { Readable, Writable } from 'node:stream';
import { KrillError } from '../errors/errors';
import type { Launcher } from '../spawn/launcher';

const STREAM_STDOUT = 2;
const STREAM_STDERR = 3;

export interface AttachIO {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

export interface AttachSession {
  /** Resolves when conmon closes the socket (the process exited) or close() was called. */
  done: Promise<void>;
  /** Detaches without affecting the process. */
  close(): void;
}

/** Splits the helper's framed output back into packets. */
export class PacketReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onPacket: (packet: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 4) {
      const len = this.pending.readUInt32BE(0);
      if (this.pending.length < 4 + len) break;
      this.onPacket(this.pending.subarray(4, 4 + len));
      this.pending = this.pending.subarray(4 + len);
    }
  }
}

export function attachSocket(launcher: Launcher, helper: string, socketPath: string, io: AttachIO): AttachSession {
  const child = launcher.spawn(helper, [socketPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const reader = new PacketReader((packet) => {
    const target = packet[0] === STREAM_STDOUT ? io.stdout : packet[0] === STREAM_STDERR ? io.stderr : undefined;
    if (!target || target.destroyed) return;
    // Backpressure: a slow client pauses the helper, which pauses conmon's socket only for this client.
    if (!target.write(packet.subarray(1))) {
      child.stdout!.pause();
      target.once('drain', () => child.stdout!.resume());
    }
  });
  child.stdout!.on('data', (b: Buffer) => reader.push(b));
  if (io.stdin) {
    io.stdin.pipe(child.stdin!);
  } else {
    child.stdin!.end();
  }
  child.stdin!.on('error', () => undefined);
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err) => reject(new KrillError('Internal', `cannot run ${helper}: ${err.message}`)));
    child.once('close', (code) => {
      io.stdin?.unpipe(child.stdin!);
      if (code === 2) reject(new KrillError('FailedPrecondition', `cannot attach: ${stderr.trim()}`));
      else resolve();
    });
  });
  return {
    done,
    close() {
      child.kill('SIGTERM');
    },
  };
}
