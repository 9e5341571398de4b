// The CRI unix socket: parent directories created, a stale socket replaced,
// and a start refused while another daemon still answers on it.
import { connect } from 'node:net';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KrillError, isErrno } from '../errors/errors';

function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(socketPath);
    const done = (alive: boolean): void => {
      sock.destroy();
      resolve(alive);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.setTimeout(2000, () => done(true));
  });
}

/** Makes `socketPath` free to bind; throws when it is in use or not a socket. */
export async function prepareSocket(socketPath: string): Promise<void> {
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o755 });
  let st;
  try {
    st = await lstat(socketPath);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  if (!st.isSocket()) {
    throw new KrillError('FailedPrecondition', `${socketPath} exists and is not a socket; refusing to replace it`);
  }
  if (await answers(socketPath)) {
    throw new KrillError('FailedPrecondition', `another process is serving on ${socketPath}; stop it first or choose another --socket`);
  }
  await unlink(socketPath);
}
