// ExecSync's output cap. kubelet and crictl refuse a gRPC message over
// 16 MiB, so a response larger than that would never reach them, truncated
// or not: stdout and stderr together are kept within a budget that leaves
// room for the rest of the response. When both streams overflow, each keeps
// half; when one fits in its half, the other gets the rest. A note at the end
// of stderr says that output was dropped.

/** kubelet's (and crictl's) largest gRPC message. */
export const KUBELET_MAX_MESSAGE = 16 * 1024 * 1024;
/** What stdout and stderr of one ExecSync response keep together, the note included. */
export const EXEC_SYNC_OUTPUT_BUDGET = KUBELET_MAX_MESSAGE - 4096;

/** Collects one stream's bytes up to `keep`, counting (and dropping) the rest. */
export class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** Every byte the stream produced, kept or not. */
  total = 0;

  constructor(private readonly keep: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.keep - this.kept;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.chunks.push(part);
    this.kept += part.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }
}

export interface FittedOutput {
  stdout: Buffer;
  stderr: Buffer;
  truncated: boolean;
}

function note(droppedOut: number, droppedErr: number, budget: number): string {
  const dropped = [droppedOut > 0 ? `${droppedOut} bytes of stdout` : '', droppedErr > 0 ? `${droppedErr} bytes of stderr` : ''].filter(Boolean).join(' and ');
  return `[krill: output truncated: ${dropped} dropped; ExecSync keeps ${budget} bytes of stdout and stderr together]\n`;
}

/**
 * Fits the two streams into `budget` bytes. `totalOut`/`totalErr` are what
 * the streams produced (the buffers may already hold only a prefix of that).
 */
export function fitOutput(out: Buffer, err: Buffer, totalOut: number, totalErr: number, budget = EXEC_SYNC_OUTPUT_BUDGET): FittedOutput {
  if (totalOut + totalErr <= budget && out.length === totalOut && err.length === totalErr) {
    return { stdout: out, stderr: err, truncated: false };
  }
  // The note's length depends on the numbers in it; the longest it can be is enough to reserve.
  const reserve = Buffer.byteLength(note(totalOut, totalErr, budget)) + 1;
  const room = Math.max(0, budget - reserve);
  const half = Math.floor(room / 2);
  let keepOut: number;
  let keepErr: number;
  if (totalOut <= half) {
    keepOut = totalOut;
    keepErr = Math.min(totalErr, room - keepOut);
  } else if (totalErr <= half) {
    keepErr = totalErr;
    keepOut = Math.min(totalOut, room - keepErr);
  } else {
    keepOut = half;
    keepErr = half;
  }
  keepOut = Math.min(keepOut, out.length);
  keepErr = Math.min(keepErr, err.length);
  const stderr = err.subarray(0, keepErr);
  const sep = stderr.length > 0 && stderr[stderr.length - 1] !== 0x0a ? '\n' : '';
  return {
    stdout: out.subarray(0, keepOut),
    stderr: Buffer.concat([stderr, Buffer.from(sep + note(totalOut - keepOut, totalErr - keepErr, budget))]),
    truncated: true,
  };
}
