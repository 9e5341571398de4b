// Where the runtime driver keeps each container's files.
import { join } from 'node:path';

export interface RuntimeDirs {
  /** Persistent (survives reboots): <root>/containers. */
  persistRoot: string;
  /** Volatile (gone after a reboot): <state>. */
  stateRoot: string;
}

export class ContainerPaths {
  constructor(private readonly dirs: RuntimeDirs) {}

  /** Exit codes as conmon writes them, one file per container ID. */
  get exitDir(): string {
    return join(this.dirs.stateRoot, 'exits');
  }

  /** conmon's attach sockets live in <dir>/<id>/attach. */
  get attachDir(): string {
    return join(this.dirs.stateRoot, 'attach');
  }

  /** The persistent directory: conmon's `exit` and `oom` files. */
  persistDir(id: string): string {
    return join(this.dirs.persistRoot, id);
  }

  exitFile(id: string): string {
    return join(this.exitDir, id);
  }

  persistedExitFile(id: string): string {
    return join(this.persistDir(id), 'exit');
  }

  oomFile(id: string): string {
    return join(this.persistDir(id), 'oom');
  }

  conmonPidFile(bundle: string): string {
    return join(bundle, 'conmon.pid');
  }

  containerPidFile(bundle: string): string {
    return join(bundle, 'pidfile');
  }

  /** conmon's control FIFO: "1 H W" resizes the terminal, "2 0 0" reopens the log. */
  ctlFifo(bundle: string): string {
    return join(bundle, 'ctl');
  }

  attachSocket(id: string): string {
    return join(this.attachDir, id, 'attach');
  }
}
