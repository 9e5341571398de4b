// Clients that send the socket path as the HTTP/2 :authority, as grpc-go
// before 1.57 does when dialed with a bare socket path (kubelet up to 1.23,
// many agents):
// plain node:http2 with CRI protobuf bodies, and grpc-js told to do the same.
import * as http2 from 'node:http2';
import { connect } from 'node:net';
import {
  ContainerEventResponse,
  ContainerEventType,
  GetEventsRequest,
  VersionRequest,
  VersionResponse,
} from '../api/runtime/v1/api';
import { connectCri, type CriClient } from '../pkg/criclient/client';
import { removeTestCgroups } from './harness/cgroups';
import { containerConfig, pull, startContainerKrilld, testImage, waitExited } from './harness/containers';
import type { Krilld } from './harness/krilld';
import { testCgroupParent } from './harness/paths';
import { podConfig, runRequest } from './harness/pods';

const IMAGE = testImage('layered');
const cgroupParent = testCgroupParent('authority');

let k: Krilld;
let session: http2.ClientHttp2Session;
let pathClient: CriClient;

beforeAll(async () => {
  k = await startContainerKrilld();
  session = http2.connect('http://localhost', { createConnection: () => connect(k.socket) });
  session.on('error', () => undefined);
  pathClient = connectCri(k.socket, { authority: k.socket });
});

afterAll(async () => {
  session?.close();
  pathClient?.close();
  await k?.cleanup();
  removeTestCgroups(cgroupParent);
});

/** A gRPC message: no compression, 4-byte length, the protobuf bytes. */
function grpcMessage(body: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

/** Splits the gRPC messages out of response bytes; returns them and what is left of an incomplete one. */
function grpcMessages(data: Buffer): { messages: Buffer[]; rest: Buffer } {
  const messages: Buffer[] = [];
  let pos = 0;
  while (pos + 5 <= data.length && pos + 5 + data.readUInt32BE(pos + 1) <= data.length) {
    const length = data.readUInt32BE(pos + 1);
    messages.push(data.subarray(pos + 5, pos + 5 + length));
    pos += 5 + length;
  }
  return { messages, rest: data.subarray(pos) };
}

/** A CRI call over plain HTTP/2 with `authority`; `onMessage` sees each response message as it arrives. */
function h2Call(path: string, authority: string, request: Uint8Array, onMessage: (m: Buffer) => void): { stream: http2.ClientHttp2Stream; done: Promise<{ grpcStatus: string | undefined; grpcMessage: string | undefined }> } {
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    ':authority': authority,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  const done = new Promise<{ grpcStatus: string | undefined; grpcMessage: string | undefined }>((resolve, reject) => {
    let pending = Buffer.alloc(0);
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => {
      const { messages, rest } = grpcMessages(Buffer.concat([pending, c]));
      pending = Buffer.from(rest);
      messages.forEach(onMessage);
    });
    stream.on('end', () => resolve({ grpcStatus: trailers['grpc-status'] as string | undefined, grpcMessage: trailers['grpc-message'] as string | undefined }));
    stream.on('error', reject);
  });
  stream.end(grpcMessage(request));
  return { stream, done };
}

test('Version over plain HTTP/2 with the socket path as :authority', async () => {
  const replies: VersionResponse[] = [];
  const { done } = h2Call('/runtime.v1.RuntimeService/Version', k.socket, VersionRequest.encode({ version: 'v1' }).finish(), (m) => replies.push(VersionResponse.decode(m)));
  await expect(done).resolves.toMatchObject({ grpcStatus: '0' });
  expect(replies).toEqual([expect.objectContaining({ runtimeName: 'krill', runtimeApiVersion: 'v1' })]);
});

test('the same connection keeps serving: the authority now comes from the dynamic table', async () => {
  for (let i = 0; i < 3; i++) {
    const replies: VersionResponse[] = [];
    const { done } = h2Call('/runtime.v1.RuntimeService/Version', k.socket, VersionRequest.encode({ version: '' }).finish(), (m) => replies.push(VersionResponse.decode(m)));
    await expect(done).resolves.toMatchObject({ grpcStatus: '0' });
    expect(replies[0]!.runtimeName).toBe('krill');
  }
});

test('grpc-js with grpc.default_authority set to the socket path', async () => {
  await expect(pathClient.runtime.version({ version: '' })).resolves.toMatchObject({ runtimeName: 'krill' });
  await expect(pathClient.runtime.status({ verbose: false })).resolves.toMatchObject({ status: expect.anything() });
});

test('GetContainerEvents streams to both clients that send the socket path as :authority', async () => {
  await pull(k.client, IMAGE);
  const podId = (await k.client.runtime.runPodSandbox(runRequest(podConfig({ cgroupParent })))).podSandboxId;
  const raw: ContainerEventResponse[] = [];
  const js: ContainerEventResponse[] = [];
  const rawCall = h2Call('/runtime.v1.RuntimeService/GetContainerEvents', k.socket, GetEventsRequest.encode({}).finish(), (m) => raw.push(ContainerEventResponse.decode(m)));
  rawCall.done.catch(() => undefined);
  const jsStream = pathClient.runtime.getContainerEvents({});
  jsStream.on('data', (e: ContainerEventResponse) => js.push(e));
  jsStream.on('error', () => undefined);
  try {
    // Calls on a connection are handled in the order they arrive: once these answer, both subscriptions are in place.
    await h2Call('/runtime.v1.RuntimeService/Version', k.socket, VersionRequest.encode({ version: '' }).finish(), () => undefined).done;
    await pathClient.runtime.version({ version: '' });
    const { containerId } = await k.client.runtime.createContainer({ podSandboxId: podId, config: containerConfig('evented', IMAGE, { command: ['sh', '-c', 'exit 0'] }), sandboxConfig: undefined });
    await k.client.runtime.startContainer({ containerId });
    await waitExited(k.client, containerId);
    await k.client.runtime.removeContainer({ containerId });
    const expected = [ContainerEventType.CONTAINER_CREATED_EVENT, ContainerEventType.CONTAINER_STARTED_EVENT, ContainerEventType.CONTAINER_STOPPED_EVENT, ContainerEventType.CONTAINER_DELETED_EVENT];
    const kinds = (events: ContainerEventResponse[]) => events.filter((e) => e.containerId === containerId).map((e) => e.containerEventType);
    const deadline = Date.now() + 15_000;
    while (kinds(raw).length < 4 || kinds(js).length < 4) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(kinds(raw)).toEqual(expected);
    expect(kinds(js)).toEqual(expected);
  } finally {
    rawCall.stream.close(http2.constants.NGHTTP2_CANCEL);
    jsStream.cancel();
    await k.client.runtime.stopPodSandbox({ podSandboxId: podId });
    await k.client.runtime.removePodSandbox({ podSandboxId: podId });
  }
});

test('the daemon logged nothing about broken connections', () => {
  expect(k.logs().filter((l) => String(l.msg).includes('broke HTTP/2'))).toEqual([]);
});
