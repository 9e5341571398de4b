// The metav1.Status objects written on the error stream of remotecommand
// sessions, field for field as kubelet marshals them (client-go decodes them
// to find the exit code), and the plain-text form of the pre-v4 protocols.

export interface StatusCause {
  reason?: string;
  message?: string;
}

export interface Status {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: StatusCause[] };
  code?: number;
}

export function successStatus(): Status {
  return { metadata: {}, status: 'Success' };
}

/** How Go prints a []string with %v: [a b c]. */
function goStringSlice(cmd: string[]): string {
  return `[${cmd.join(' ')}]`;
}

export function nonZeroExitStatus(exitCode: number, cmd: string[]): Status {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command ${goStringSlice(cmd)}, exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** apierrors.NewInternalError(err) of `message`. */
export function internalErrorStatus(message: string): Status {
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${message}`,
    reason: 'InternalError',
    details: { causes: [{ message }] },
    code: 500,
  };
}

/** v4 and later: the Status as JSON, success included. */
export function encodeStatusV4(status: Status): Buffer {
  return Buffer.from(JSON.stringify(status));
}

/** v1–v3: the error's text, and nothing at all on success. */
export function encodeStatusV1(status: Status): Buffer | undefined {
  return status.status === 'Success' ? undefined : Buffer.from(status.message ?? '');
}
