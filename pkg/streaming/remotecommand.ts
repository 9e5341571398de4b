// One exec or attach session, independent of the wire protocol: feeds resize
// events to the backend, runs it, ends the output streams, reports the outcome
// as a Status on the error stream and closes the connection.
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { AttachRequest, ExecRequest } from '../../api/runtime/v1/api';
import { messageOf } from './session';
import type { Logger } from '../log/logger';
import type { StreamingBackend } from './backend';
import { ResizeDecoder, ResizeQueue } from './resize';
import { internalErrorStatus, nonZeroExitStatus, successStatus, type Status } from './status';

export type RemoteCommand = { kind: 'exec'; request: ExecRequest } | { kind: 'attach'; request: AttachRequest };

/** The client's side of a session, already negotiated and connected. */
export interface RemoteCommandIO {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** The raw resize stream (JSON objects), when the protocol has one. */
  resize?: Readable;
  /** Writes the final status and ends the error stream. */
  writeStatus(status: Status): Promise<void>;
  /** Closes the connection once everything is written. */
  finish(): void;
  /** Aborts when the client has gone away. */
  signal: AbortSignal;
}

export async function runRemoteCommand(cmd: RemoteCommand, backend: StreamingBackend, io: RemoteCommandIO, log: Logger): Promise<Status> {
  const { request } = cmd;
  // The backend may write after the client left or after the session ended; that must not crash the daemon.
  for (const s of [io.stdin, io.stdout, io.stderr, io.resize]) s?.on('error', (err) => log.debug({ err }, 'stream error'));
  const resize = new ResizeQueue();
  if (io.resize && request.tty) {
    const decoder = new ResizeDecoder();
    io.resize.on('data', (chunk: Buffer) => {
      for (const size of decoder.push(chunk)) resize.push(size);
    });
  } else {
    io.resize?.resume();
  }
  const streams = { stdin: io.stdin, stdout: io.stdout, stderr: io.stderr };

  let status: Status;
  try {
    if (cmd.kind === 'exec') {
      const { exitCode } = await backend.exec(request.containerId, cmd.request.cmd, request.tty, streams, resize, io.signal);
      if (exitCode === 0) status = successStatus();
      else if (Number.isInteger(exitCode) && exitCode > 0 && exitCode <= 255) status = nonZeroExitStatus(exitCode, cmd.request.cmd);
      else status = internalErrorStatus(`error executing command in container: invalid exit code ${exitCode}`);
    } else {
      await backend.attach(request.containerId, request.tty, streams, resize, io.signal);
      status = successStatus();
    }
  } catch (err) {
    const what = cmd.kind === 'exec' ? 'error executing command in container' : 'error attaching to container';
    status = internalErrorStatus(`${what}: ${messageOf(err)}`);
    log.warn({ err, aborted: io.signal.aborted }, `${cmd.kind} failed`);
  }
  resize.end();
  // Whatever stdin the backend left unread is discarded, so it cannot stall the connection.
  io.stdin?.resume();
  if (!io.signal.aborted) {
    await Promise.all([endWritable(io.stdout), endWritable(io.stderr)]);
    await io.writeStatus(status).catch(() => undefined);
  }
  io.finish();
  return status;
}

async function endWritable(w: Writable | undefined): Promise<void> {
  if (!w || w.destroyed) return;
  if (!w.writableEnded) w.end();
  await finished(w, { readable: false }).catch(() => undefined);
}
