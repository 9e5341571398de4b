// Child processes for the benchmarks (a tool, not the daemon): node:child_process.
import { DirectLauncher } from '../../pkg/spawn/launcher';
import { run as runWith, runChecked as runCheckedWith, type RunOptions, type RunResult } from '../../pkg/spawn/run';

const launcher = new DirectLauncher();

export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runWith(launcher, file, args, opts);
}

export function runChecked(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return runCheckedWith(launcher, file, args, opts);
}
