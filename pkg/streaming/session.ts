// What every protocol handler gets from the server.
import type { Logger } from '../log/logger';
import type { StreamingBackend } from './backend';

export interface SessionContext {
  backend: StreamingBackend;
  log: Logger;
  /** How long a SPDY client may take to open the streams a session needs. */
  streamCreationTimeoutMs: number;
  /** Registers a live session so that the server can end it on stop(); returns the unregister function. */
  track(stop: () => void): () => void;
}

/** An error's message; duck-typed because errors from Node internals may come from another realm (jest's vm). */
export function messageOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  return String(err);
}
