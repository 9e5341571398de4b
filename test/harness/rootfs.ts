// A minimal busybox root filesystem and OCI bundle, made without Krill's own
// code (busybox-static + `runc spec`), for tests of the runtime driver.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

export function makeBusyboxRootfs(rootfs: string): void {
  for (const d of ['bin', 'dev', 'proc', 'sys', 'tmp', 'etc', 'root']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n');
}

export interface BundleOptions {
  args: string[];
  terminal?: boolean;
  cgroupsPath?: string;
  env?: string[];
}

/** Writes a bundle (config.json from `runc spec`, rootfs) at `bundle`. */
export function makeBundle(bundle: string, opts: BundleOptions): void {
  mkdirSync(bundle, { recursive: true });
  makeBusyboxRootfs(join(bundle, 'rootfs'));
  execFileSync('runc', ['spec', '--bundle', bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.args = opts.args;
  spec.process.terminal = opts.terminal ?? false;
  spec.process.env = ['PATH=/bin', ...(opts.env ?? [])];
  spec.root.readonly = false;
  if (opts.cgroupsPath) spec.linux.cgroupsPath = opts.cgroupsPath;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
}
