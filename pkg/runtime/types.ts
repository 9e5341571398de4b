// The narrow interface between managers and the OCI runtime (conmon + runc or
// crun). Callers never spawn either binary themselves.

/** One configured runtime handler (RuntimeClass). */
export interface HandlerSpec {
  name: string;
  /** runc or crun binary. */
  binary: string;
  /** The runtime's own state root (--root). */
  root: string;
  systemdCgroup: boolean;
}

/** What a runtime binary says it supports (`runc features`). */
export interface HandlerFeatures {
  recursiveReadOnlyMounts: boolean;
  userNamespaces: boolean;
  idmappedMounts: boolean;
}

export interface CreateRequest {
  id: string;
  handler: HandlerSpec;
  /** Directory holding config.json (and the rootfs mount point). */
  bundle: string;
  /** Where conmon writes the CRI-format log. */
  logPath: string;
  terminal: boolean;
  stdin: boolean;
  /** Close the container's stdin when the first attach session ends. */
  stdinOnce: boolean;
}

/** What `runc state` says; `stopped` also covers a container runc no longer knows. */
export type RuntimeStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface RuntimeState {
  status: RuntimeStatus;
  pid: number;
}

export interface ExitInfo {
  /** Exit code as the CRI reports it: 128+N for a signal N. */
  exitCode: number;
  /** When conmon recorded the exit (the exit file's mtime), ns since the epoch. */
  finishedAt: bigint;
  /** conmon saw an OOM kill in the container's memory cgroup. */
  oomKilled: boolean;
}

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
  /** Output beyond the cap was dropped. */
  truncated: boolean;
}
