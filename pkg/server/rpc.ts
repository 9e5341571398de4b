// Turns typed async handlers into @grpc/grpc-js service implementations:
// request-scoped logging, KrillError → gRPC status, UNIMPLEMENTED for every
// RPC that has no handler yet, and a hook for metrics.
import * as grpc from '@grpc/grpc-js';
import type { AdminService } from '../../api/krill/admin/v1/admin';
import { ImageServiceService, RuntimeServiceService } from '../../api/runtime/v1/api';
import { KrillError, type ErrorCode } from '../errors/errors';
import type { Logger } from '../log/logger';

type Definition = typeof RuntimeServiceService | typeof ImageServiceService | typeof AdminService;
type MethodOf<D> = D[keyof D];
type Req<M> = M extends { requestDeserialize: (b: Buffer) => infer Q } ? Q : never;
type Res<M> = M extends { responseSerialize: (r: infer R) => Buffer } ? R : never;

export interface CallContext {
  /** A logger whose lines carry the method and the request's object IDs. */
  log: Logger;
  /**
   * Aborted when the client cancels or its deadline passes; for a server
   * stream that never ends on its own (GetContainerEvents), also when the
   * server shuts down, before the calls in flight are waited for.
   */
  signal: AbortSignal;
  method: string;
}

export type UnaryHandler<Q, R> = (req: Q, ctx: CallContext) => Promise<R>;
/** A server stream: `send` returns false when the client is not keeping up. */
export type StreamHandler<Q, R> = (req: Q, ctx: CallContext, stream: grpc.ServerWritableStream<Q, R>) => Promise<void>;

export type Handlers<D extends Definition> = {
  -readonly [K in keyof D]?: D[K] extends { responseStream: true }
    ? StreamHandler<Req<D[K]>, Res<D[K]>>
    : UnaryHandler<Req<D[K]>, Res<D[K]>>;
};
export type RuntimeServiceHandlers = Handlers<typeof RuntimeServiceService>;
export type ImageServiceHandlers = Handlers<typeof ImageServiceService>;
export type AdminHandlers = Handlers<typeof AdminService>;

/** Called once per finished call: method name, gRPC code name and seconds. */
export type CallObserver = (method: string, code: string, seconds: number) => void;

const GRPC_CODE: Record<ErrorCode, grpc.status> = {
  InvalidArgument: grpc.status.INVALID_ARGUMENT,
  NotFound: grpc.status.NOT_FOUND,
  AlreadyExists: grpc.status.ALREADY_EXISTS,
  FailedPrecondition: grpc.status.FAILED_PRECONDITION,
  PermissionDenied: grpc.status.PERMISSION_DENIED,
  Unauthenticated: grpc.status.UNAUTHENTICATED,
  ResourceExhausted: grpc.status.RESOURCE_EXHAUSTED,
  DeadlineExceeded: grpc.status.DEADLINE_EXCEEDED,
  Cancelled: grpc.status.CANCELLED,
  Unavailable: grpc.status.UNAVAILABLE,
  Unimplemented: grpc.status.UNIMPLEMENTED,
  Internal: grpc.status.INTERNAL,
};

export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof KrillError) return { code: GRPC_CODE[err.code], details: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: grpc.status.INTERNAL, details: message };
}

/** The object IDs a request names, for its log lines. */
export function requestIds(req: unknown): Record<string, string> {
  const ids: Record<string, string> = {};
  if (typeof req !== 'object' || req === null) return ids;
  const r = req as Record<string, unknown>;
  if (typeof r.podSandboxId === 'string' && r.podSandboxId) ids.pod_id = r.podSandboxId;
  if (typeof r.containerId === 'string' && r.containerId) ids.container_id = r.containerId;
  const image = r.image as { image?: unknown } | undefined;
  if (image && typeof image.image === 'string' && image.image) ids.image = image.image;
  const meta = (r.config as { metadata?: { name?: unknown; namespace?: unknown } } | undefined)?.metadata;
  if (meta && typeof meta.name === 'string' && meta.name) ids.name = meta.name;
  if (meta && typeof meta.namespace === 'string' && meta.namespace) ids.namespace = meta.namespace;
  return ids;
}

function codeName(code: number): string {
  return grpc.status[code] ?? String(code);
}

/** Server streams that end only when the client or the server goes: ended first at shutdown. */
const ENDLESS_STREAMS: readonly string[] = ['GetContainerEvents'];

interface BuildOptions {
  log: Logger;
  observe?: CallObserver;
  /** Aborted when the server shuts down: endless server streams end. */
  closing?: AbortSignal;
}

/**
 * A call's context, and `done` to call once it has answered: grpc-js emits
 * 'cancelled' when the stream closes after the answer too, which must not
 * abort anything (nor cost an error with a stack trace per call). The logger
 * with the call's bindings is made on first use (most calls log nothing).
 */
function contextFor(
  call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  method: string,
  log: Logger,
  closing?: AbortSignal,
): { ctx: CallContext; done: () => void } {
  const controller = new AbortController();
  const onCancel = (): void => controller.abort(new KrillError('Cancelled', `${method} was cancelled by the client`));
  call.once('cancelled', onCancel);
  const signal = closing ? AbortSignal.any([controller.signal, closing]) : controller.signal;
  let callLog: Logger | undefined;
  const ctx: CallContext = {
    get log(): Logger {
      if (!callLog) {
        // The request's IDs go under "req": managers add the objects' own (full) IDs at the top level.
        const ids = requestIds(call.request);
        callLog = log.child(Object.keys(ids).length ? { method, req: ids } : { method });
      }
      return callLog;
    },
    signal,
    method,
  };
  return { ctx, done: () => call.off('cancelled', onCancel) };
}

/** Builds a grpc-js implementation of `definition` from `handlers`. */
export function buildService<D extends Definition>(definition: D, handlers: Handlers<D>, opts: BuildOptions): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const key of Object.keys(definition) as (keyof D & string)[]) {
    const def = definition[key] as MethodOf<D> & { originalName?: string; path: string; responseStream: boolean };
    const method = def.path.slice(def.path.lastIndexOf('/') + 1);
    const handler = handlers[key] as UnaryHandler<unknown, unknown> | StreamHandler<unknown, unknown> | undefined;
    if (def.responseStream) {
      impl[key] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const started = process.hrtime.bigint();
        const { ctx, done } = contextFor(call, method, opts.log, ENDLESS_STREAMS.includes(method) ? opts.closing : undefined);
        const finish = (code: number, err?: unknown): void => {
          done();
          opts.observe?.(method, codeName(code), Number(process.hrtime.bigint() - started) / 1e9);
          if (err !== undefined) ctx.log.warn({ err, code: codeName(code) }, `${method} failed`);
        };
        if (!handler) {
          done();
          call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: `krill does not implement ${method} yet` });
          finish(grpc.status.UNIMPLEMENTED);
          return;
        }
        (handler as StreamHandler<unknown, unknown>)(call.request, ctx, call).then(
          () => {
            done();
            call.end();
            finish(grpc.status.OK);
          },
          (err: unknown) => {
            done();
            const status = toServiceError(err);
            call.emit('error', status);
            finish(status.code ?? grpc.status.INTERNAL, err);
          },
        );
      };
      continue;
    }
    impl[key] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      const { ctx, done } = contextFor(call, method, opts.log);
      if (!handler) {
        done();
        ctx.log.debug({ code: 'UNIMPLEMENTED' }, `${method} is not implemented`);
        callback({ code: grpc.status.UNIMPLEMENTED, details: `krill does not implement ${method} yet` });
        opts.observe?.(method, 'UNIMPLEMENTED', Number(process.hrtime.bigint() - started) / 1e9);
        return;
      }
      (handler as UnaryHandler<unknown, unknown>)(call.request, ctx).then(
        (res) => {
          done();
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          if (opts.log.isLevelEnabled('debug')) ctx.log.debug({ seconds }, `${method} done`);
          opts.observe?.(method, 'OK', seconds);
          callback(null, res);
        },
        (err: unknown) => {
          done();
          const status = toServiceError(err);
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const code = status.code ?? grpc.status.INTERNAL;
          // Client mistakes are routine (kubelet probes for missing objects); runtime faults are not.
          const level = code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN ? 'error' : 'info';
          ctx.log[level]({ err, code: codeName(code), seconds }, `${method} failed`);
          opts.observe?.(method, codeName(code), seconds);
          callback(status);
        },
      );
    };
  }
  return impl;
}
