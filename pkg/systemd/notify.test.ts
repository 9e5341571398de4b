import { DirectLauncher } from '../spawn/launcher';
import { SystemdNotifier, takeNotifySocket } from './notify';

function fakeLog() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => lines.push({ level, obj, msg });
  return { lines, log: { debug: at('debug'), warn: at('warn') } as never };
}

test('takeNotifySocket takes NOTIFY_SOCKET out of the environment', () => {
  const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: '/run/systemd/notify', PATH: '/bin' };
  expect(takeNotifySocket(env)).toBe('/run/systemd/notify');
  expect(env).toEqual({ PATH: '/bin' });
  expect(takeNotifySocket(env)).toBe('');
});

test('without a socket nothing is started', async () => {
  const launcher = { spawn: jest.fn(), dial: jest.fn() };
  const { log } = fakeLog();
  const n = new SystemdNotifier({ socket: '', launcher, binary: '/nonexistent', mainPid: 42, log });
  expect(n.enabled).toBe(false);
  await expect(n.ready('serving')).resolves.toBe(false);
  expect(launcher.spawn).not.toHaveBeenCalled();
});

test('the helper gets --pid, the assignments, and NOTIFY_SOCKET alone in its environment', async () => {
  const direct = new DirectLauncher();
  const spawn = jest.fn((_file: string, _args: readonly string[], opts?: { env?: NodeJS.ProcessEnv }) => direct.spawn('/bin/true', [], opts));
  const { log, lines } = fakeLog();
  const n = new SystemdNotifier({ socket: '@krill-test', launcher: { spawn, dial: jest.fn() }, binary: '/x/krill-notify', mainPid: 42, log });
  await expect(n.ready('serving on /run/krill/krill.sock')).resolves.toBe(true);
  await expect(n.stopping('stopping')).resolves.toBe(true);
  expect(spawn.mock.calls[0]![0]).toBe('/x/krill-notify');
  expect(spawn.mock.calls[0]![1]).toEqual(['--pid', '42', 'READY=1', 'STATUS=serving on /run/krill/krill.sock', 'MAINPID=42']);
  expect(spawn.mock.calls[1]![1]).toEqual(['--pid', '42', 'STOPPING=1', 'STATUS=stopping']);
  expect(spawn.mock.calls[0]![2]!.env).toEqual({ NOTIFY_SOCKET: '@krill-test' });
  expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
});

test('a failed send is a warning, never an error', async () => {
  const { log, lines } = fakeLog();
  const n = new SystemdNotifier({ socket: '/nowhere', launcher: new DirectLauncher(), binary: '/bin/false', mainPid: 42, log });
  await expect(n.ready('serving')).resolves.toBe(false);
  const missing = new SystemdNotifier({ socket: '/nowhere', launcher: new DirectLauncher(), binary: '/nonexistent/krill-notify', mainPid: 42, log });
  await expect(missing.stopping('stopping')).resolves.toBe(false);
  expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual(['could not notify systemd', 'could not notify systemd']);
});
