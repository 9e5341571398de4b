import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type { Container, ListContainersRequest, StreamContainersResponse } from '../../api/runtime/v1/api';
import { silentLogger } from '../log/logger';
import { ITEMS_PER_RESPONSE, imageListStreams, runtimeListStreams } from './list_streams';
import type { CallContext, RuntimeServiceHandlers } from './rpc';

/** A server stream that takes `room` writes before it asks the writer to wait for 'drain'. */
class FakeStream extends EventEmitter {
  readonly written: StreamContainersResponse[] = [];
  cancelled = false;
  constructor(private room: number) {
    super();
  }
  write(msg: StreamContainersResponse): boolean {
    this.written.push(msg);
    return --this.room > 0;
  }
}

const ctx = { log: silentLogger() } as unknown as CallContext;
const containers = (n: number): Container[] => Array.from({ length: n }, (_, i) => ({ id: `c${i}` }) as Container);

test('a List becomes a stream of responses of at most ITEMS_PER_RESPONSE items, every item once and in order', async () => {
  const all = containers(2 * ITEMS_PER_RESPONSE + 7);
  let asked: ListContainersRequest | undefined;
  const h: RuntimeServiceHandlers = {
    listContainers: async (req) => {
      asked = req;
      return { containers: all };
    },
  };
  const stream = new FakeStream(1000);
  const filter = { id: 'x', state: undefined, podSandboxId: '', labelSelector: {} };
  await runtimeListStreams(h).streamContainers!({ filter }, ctx, stream as unknown as grpc.ServerWritableStream<never, StreamContainersResponse>);
  expect(asked).toEqual({ filter });
  expect(stream.written.map((r) => r.containers.length)).toEqual([ITEMS_PER_RESPONSE, ITEMS_PER_RESPONSE, 7]);
  expect(stream.written.flatMap((r) => r.containers)).toEqual(all);
});

test('a client that does not keep up is waited for; one that goes away ends the stream', async () => {
  const h: RuntimeServiceHandlers = { listContainers: async () => ({ containers: containers(3 * ITEMS_PER_RESPONSE) }) };
  const stream = new FakeStream(1);
  const done = runtimeListStreams(h).streamContainers!({ filter: undefined }, ctx, stream as unknown as grpc.ServerWritableStream<never, StreamContainersResponse>);
  await new Promise((r) => setImmediate(r));
  expect(stream.written).toHaveLength(1);
  stream.emit('drain');
  await new Promise((r) => setImmediate(r));
  expect(stream.written).toHaveLength(2);
  stream.cancelled = true;
  stream.emit('close');
  await done;
  expect(stream.written).toHaveLength(2);
});

test('a List that is not implemented leaves its stream unimplemented too', () => {
  expect(runtimeListStreams({})).toEqual({});
  expect(imageListStreams({})).toEqual({});
});
