// A TCP connection to a port inside a pod's network namespace, for
// port-forward. Node cannot enter a namespace, so `nsenter` enters it and
// runs the node's `socat`, which connects to the pod's loopback: nothing is
// needed inside the pod, and nothing is exposed outside it.
import { connect } from 'node:net';
import { Duplex } from 'node:stream';
import { KrillError } from '../errors/errors';
import { spawn, type Child } from '../util/spawner';

const CONNECT_TIMEOUT_S = 10;

/** socat's last error line without its timestamp prefix. */
function lastError(stderr: string): string {
  const line = stderr.split('\n').filter((l) => / E /.test(l)).pop() ?? '';
  return line.replace(/^.*? E /, '').trim();
}

/**
 * Connects to 127.0.0.1:`port` inside the network namespace at `netns`
 * (host network when undefined). The returned stream ends when either side
 * closes; destroying it kills the bridge process.
 */
export async function dialPodPort(netns: string | undefined, port: number): Promise<Duplex> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new KrillError('InvalidArgument', `port ${port} is out of range`);
  if (!netns) {
    const sock = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', (err) => reject(new KrillError('Unavailable', `cannot connect to port ${port}: ${err.message}`)));
    });
    return sock;
  }
  // -d -d makes socat say "starting data transfer loop" once connected: the moment to hand the stream out.
  const child = spawn('nsenter', [`--net=${netns}`, '--', 'socat', '-d', '-d', '-t', '0.5', 'STDIO', `TCP4:127.0.0.1:${port},connect-timeout=${CONNECT_TIMEOUT_S}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  const connected = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
      if (stderr.includes('starting data transfer loop')) resolve();
      if (stderr.length > 65536) stderr = stderr.slice(-4096);
    });
    child.once('exit', (code) => reject(new KrillError('Unavailable', `cannot connect to port ${port} in the pod: ${lastError(stderr) || `exit ${code}`}`)));
    child.once('error', (err) => reject(new KrillError('Internal', `cannot run nsenter/socat: ${err.message}`)));
  });
  const duplex = new ProcessDuplex(child);
  try {
    await connected;
  } catch (err) {
    duplex.destroy();
    throw err;
  }
  return duplex;
}

/** A child process's stdout and stdin as one stream; destroying it kills the process. */
class ProcessDuplex extends Duplex {
  constructor(private readonly child: Child) {
    super();
    child.stdout!.on('data', (b: Buffer) => {
      if (!this.push(b)) child.stdout!.pause();
    });
    child.stdout!.once('end', () => this.push(null));
    child.stdin!.on('error', () => undefined);
  }

  override _read(): void {
    this.child.stdout!.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.child.stdin!.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.child.stdin!.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.child.kill('SIGKILL');
    cb(err);
  }
}
