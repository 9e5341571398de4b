// A client connection as an HTTP/2 server should see it: the client's bytes
// go through an AuthorityRewriter, the server's go out unchanged. Hand it to
// the server in place of the socket (http2 wraps any Duplex).
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { AuthorityRewriter, H2ProtocolError, type RewriterOptions } from './rewriter';

export interface AuthorityShimOptions extends RewriterOptions {
  /** Called once when the client sent something malformed; the connection is closed right after. */
  onMalformed?: (err: H2ProtocolError) => void;
}

export class AuthorityShim extends Duplex {
  private readonly rewriter: AuthorityRewriter;

  constructor(
    private readonly socket: Socket,
    private readonly opts: AuthorityShimOptions = {},
  ) {
    // As a net.Server's sockets: the end of the client's bytes ends ours too.
    super({ allowHalfOpen: false });
    this.rewriter = new AuthorityRewriter(opts);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  /** Header fields rewritten so far on this connection. */
  get rewrites(): number {
    return this.rewriter.rewrites;
  }

  private onData(chunk: Buffer): void {
    let out: Buffer[];
    try {
      out = this.rewriter.push(chunk);
    } catch (err) {
      // push() throws nothing else; were it to, this runs in a socket event, where a throw would end the process.
      this.opts.onMalformed?.(err instanceof H2ProtocolError ? err : new H2ProtocolError(String(err)));
      this.socket.destroy();
      this.destroy();
      return;
    }
    let more = true;
    for (const buf of out) more = this.push(buf);
    if (!more) this.socket.pause();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.socket.write(chunk)) done();
    else this.socket.once('drain', () => done());
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.socket.cork();
    let more = true;
    for (const { chunk } of chunks) more = this.socket.write(chunk);
    this.socket.uncork();
    if (more) done();
    else this.socket.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }
}
