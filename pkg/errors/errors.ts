// Errors that carry the CRI outcome they mean, without tying managers and
// drivers to gRPC: pkg/server maps each code to its gRPC status.

export type ErrorCode =
  | 'InvalidArgument'
  | 'NotFound'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'PermissionDenied'
  | 'Unauthenticated'
  | 'ResourceExhausted'
  | 'DeadlineExceeded'
  | 'Cancelled'
  | 'Unavailable'
  | 'Unimplemented'
  | 'Internal';

export class KrillError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KrillError';
  }
}

export const invalidArgument = (message: string): KrillError => new KrillError('InvalidArgument', message);
export const notFound = (message: string): KrillError => new KrillError('NotFound', message);
export const failedPrecondition = (message: string): KrillError => new KrillError('FailedPrecondition', message);
export const alreadyExists = (message: string): KrillError => new KrillError('AlreadyExists', message);
export const unimplemented = (message: string): KrillError => new KrillError('Unimplemented', message);

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
