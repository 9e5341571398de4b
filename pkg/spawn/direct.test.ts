// DirectLauncher (unit tests, tools, worker threads) is child_process.spawn with the
// same options; the spawn server itself is tested in test/spawner.test.ts.
import type { Readable, Writable } from 'node:stream';
import { DirectLauncher, killProcessGroup, type Child } from './launcher';

const launcher = new DirectLauncher();
const spawn = launcher.spawn.bind(launcher);

function closed(child: Child): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
}

describe('spawn without a spawn server', () => {
  it('gives input and output pipes on any fd', async () => {
    const child = spawn('sh', ['-c', 'read x <&3; echo "got $x" >&4'], { stdio: ['ignore', 'ignore', 'ignore', 'input', 'output'], env: { PATH: process.env.PATH } });
    expect(child.stdin).toBeNull();
    let text = '';
    (child.stdio[4] as Readable).on('data', (b: Buffer) => (text += b.toString()));
    (child.stdio[3] as Writable).end('hi\n');
    expect(await closed(child)).toEqual({ code: 0, signal: null });
    expect(text).toBe('got hi\n');
  });

  it('kills the process group of a detached child', async () => {
    const child = spawn('sh', ['-c', 'sleep 30 & echo up; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((resolve) => child.stdout!.once('data', resolve));
    const done = closed(child);
    killProcessGroup(child, 'SIGKILL');
    expect(await done).toEqual({ code: null, signal: 'SIGKILL' });
    // The background sleep went with its group: nothing holds the pipe, so 'close' came at all.
  });
});
