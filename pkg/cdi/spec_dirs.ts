// The CDI spec directories (runtime.cdi_spec_dirs, /etc/cdi and /var/run/cdi
// by default) and the resolution of one CreateContainer's CDI devices.
//
// The directories are scanned when a request names CDI devices, not watched:
// device plugins and DRA drivers write specs just before kubelet creates the
// container, and a scan of a few small files costs less than a watcher's
// bookkeeping. Parsed files are kept by inode, size and mtime, so a file is
// parsed (and a bad one logged) once per version. Files ending in .json or
// .yaml are read, subdirectories are not; a file that cannot be used is
// skipped with a warning naming it, never failing the others.
import { lstat, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { ContainerConfig } from '../../api/runtime/v1/api';
import { errorMessage, isErrno } from '../errors/errors';
import type { Logger } from '../log/logger';
import { hostDeviceFromStat } from '../oci/host_facts';
import { readRegularFile, ReadRegularError } from '../util/read_regular';
import { completeEdits, nodeHostPath, selectEdits, type CdiEdits, type HostNodeLookup } from './edits';
import { buildRegistry, type CdiRegistry, type LoadedSpec } from './registry';
import { requestedDevices } from './request';
import { MAX_SPEC_BYTES, parseSpec, type CdiSpec } from './spec';

/** What the container manager asks of CDI. */
export interface CdiResolver {
  /**
   * The edits for the CDI devices `config` asks for (CDI_devices and
   * cdi.k8s.io/ annotations); undefined when it asks for none. Throws
   * KrillError: InvalidArgument for a bad or unknown name, FailedPrecondition
   * for a device node a spec names that the host lacks, Unimplemented for edits
   * Krill cannot apply.
   */
  resolve(config: Pick<ContainerConfig, 'CDIDevices' | 'annotations'>, log: Logger): Promise<CdiEdits | undefined>;
}

type Parsed = { spec: CdiSpec } | { error: string };

export class CdiSpecDirs implements CdiResolver {
  private readonly parsed = new Map<string, { stamp: string; result: Parsed }>();
  private readonly reportedConflicts = new Set<string>();
  private readonly log: Logger;

  constructor(
    readonly dirs: readonly string[],
    log: Logger,
  ) {
    this.log = log.child({ component: 'cdi' });
  }

  async resolve(config: Pick<ContainerConfig, 'CDIDevices' | 'annotations'>, log: Logger): Promise<CdiEdits | undefined> {
    const requested = requestedDevices(config);
    if (requested.length === 0) return undefined;
    const selected = selectEdits(await this.registry(), requested, this.dirs);
    const lookups = await Promise.all(selected.deviceNodes.map((p) => hostNode(nodeHostPath(p.node))));
    const edits = completeEdits(selected, lookups);
    log.info({ cdi_devices: edits.devices }, 'CDI devices resolved');
    return edits;
  }

  /** Every usable device of the spec directories as they are now. */
  async registry(): Promise<CdiRegistry> {
    const loaded: LoadedSpec[] = [];
    const present = new Set<string>();
    for (const [priority, dir] of this.dirs.entries()) {
      let names: string[];
      try {
        names = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.isDirectory() && ['.json', '.yaml'].includes(extname(e.name))).map((e) => e.name);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) this.log.warn({ dir, error: errorMessage(err) }, 'CDI spec directory skipped: it cannot be read');
        continue;
      }
      for (const name of names.sort()) {
        const path = join(dir, name);
        present.add(path);
        const result = await this.load(path);
        if ('spec' in result) loaded.push({ path, priority, spec: result.spec });
      }
    }
    for (const path of this.parsed.keys()) if (!present.has(path)) this.parsed.delete(path);
    const registry = buildRegistry(loaded);
    for (const c of registry.conflicts) {
      const key = `${c.device} ${c.paths.join(' ')}`;
      if (this.reportedConflicts.has(key)) continue;
      this.reportedConflicts.add(key);
      this.log.warn({ device: c.device, files: c.paths }, `CDI device ${c.device} is defined by two spec files of one directory: it cannot be used until one of them goes`);
    }
    return registry;
  }

  /** One spec file, parsed once per version (inode, size, mtime). */
  private async load(path: string): Promise<Parsed> {
    // A dangling link, or a file gone since the directory was read, is stamped by its error.
    const stamp = await stat(path).then(
      (st) => `${st.ino}:${st.size}:${st.mtimeMs}`,
      (err: unknown) => `error:${errorMessage(err)}`,
    );
    const known = this.parsed.get(path);
    if (known?.stamp === stamp) return known.result;
    let result: Parsed;
    try {
      result = { spec: parseSpec(await readRegularFile(path, MAX_SPEC_BYTES)) };
    } catch (err) {
      const error = err instanceof ReadRegularError ? `the file ${err.detail}` : errorMessage(err);
      result = { error };
      this.log.warn({ file: path, error }, `CDI spec file ${path} skipped: ${error}`);
    }
    this.parsed.set(path, { stamp, result });
    return result;
  }
}

/** The device node at `path` on the host, not following a symbolic link (as runc and the CDI library do). */
async function hostNode(path: string): Promise<HostNodeLookup> {
  try {
    const device = hostDeviceFromStat(path, await lstat(path));
    return device ? { device } : { error: 'is not a device node' };
  } catch (err) {
    return { error: isErrno(err, 'ENOENT') ? 'does not exist' : `cannot be read (${errorMessage(err)})` };
  }
}
