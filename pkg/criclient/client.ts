// A typed, promise-based CRI v1 client over a unix socket: what the tests and
// benchmarks use to drive krilld (and containerd, for comparison), with
// krilld's own krill.admin.v1.Admin on the same socket.
import * as grpc from '@grpc/grpc-js';
import { AdminClient, AdminService } from '../../api/krill/admin/v1/admin';
import {
  ImageServiceClient,
  ImageServiceService,
  RuntimeServiceClient,
  RuntimeServiceService,
} from '../../api/runtime/v1/api';

type Definition = typeof RuntimeServiceService | typeof ImageServiceService | typeof AdminService;
type Req<M> = M extends { requestSerialize: (r: infer Q) => Buffer } ? Q : never;
type Res<M> = M extends { responseDeserialize: (b: Buffer) => infer R } ? R : never;

export interface CallOpts {
  /** Milliseconds until the call's deadline. */
  timeoutMs?: number;
}

/** Each unary RPC as `(request) => Promise<response>`; streams return the raw call. */
export type PromiseClient<D extends Definition> = {
  [K in keyof D]: D[K] extends { responseStream: true }
    ? (req: Req<D[K]>, opts?: CallOpts) => grpc.ClientReadableStream<Res<D[K]>>
    : (req: Req<D[K]>, opts?: CallOpts) => Promise<Res<D[K]>>;
};

export interface CriClient {
  runtime: PromiseClient<typeof RuntimeServiceService>;
  image: PromiseClient<typeof ImageServiceService>;
  /** krilld only (containerd answers UNIMPLEMENTED). */
  admin: PromiseClient<typeof AdminService>;
  close(): void;
}

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

function wrap<D extends Definition>(definition: D, client: grpc.Client): PromiseClient<D> {
  const out: Record<string, unknown> = {};
  const raw = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const [key, def] of Object.entries(definition) as [string, { responseStream: boolean }][]) {
    const method = raw[key]!.bind(client);
    const options = (opts?: CallOpts): grpc.CallOptions => (opts?.timeoutMs ? { deadline: Date.now() + opts.timeoutMs } : {});
    out[key] = def.responseStream
      ? (req: unknown, opts?: CallOpts) => method(req, new grpc.Metadata(), options(opts))
      : (req: unknown, opts?: CallOpts) =>
          new Promise((resolve, reject) => {
            method(req, new grpc.Metadata(), options(opts), (err: grpc.ServiceError | null, res: unknown) =>
              err ? reject(err) : resolve(res),
            );
          });
  }
  return out as PromiseClient<D>;
}

export interface ConnectOptions {
  /** The HTTP/2 :authority to send (grpc-js sends "localhost" over unix sockets); old grpc-go sends the socket path. */
  authority?: string;
}

/** Connects to `endpoint`: a socket path or a `unix://` URL. */
export function connectCri(endpoint: string, opts: ConnectOptions = {}): CriClient {
  const target = endpoint.startsWith('unix:') ? endpoint : `unix://${endpoint}`;
  const creds = grpc.credentials.createInsecure();
  const options: grpc.ChannelOptions = opts.authority === undefined ? CHANNEL_OPTIONS : { ...CHANNEL_OPTIONS, 'grpc.default_authority': opts.authority };
  const runtime = new RuntimeServiceClient(target, creds, options);
  const image = new ImageServiceClient(target, creds, options);
  const admin = new AdminClient(target, creds, options);
  return {
    runtime: wrap(RuntimeServiceService, runtime),
    image: wrap(ImageServiceService, image),
    admin: wrap(AdminService, admin),
    close() {
      runtime.close();
      image.close();
      admin.close();
    },
  };
}

export { grpc };
