import { REMOTECOMMAND_WS_PROTOCOLS } from './protocols';
import { decodeChannelMessage, encodeChannelMessage } from './wschannels';

const v5 = REMOTECOMMAND_WS_PROTOCOLS.get('v5.channel.k8s.io')!;
const v4 = REMOTECOMMAND_WS_PROTOCOLS.get('v4.channel.k8s.io')!;
const b64 = REMOTECOMMAND_WS_PROTOCOLS.get('v4.base64.channel.k8s.io')!;

describe('WebSocket channel messages', () => {
  test('binary: the first byte is the channel', () => {
    expect(encodeChannelMessage(v4, 1, Buffer.from('out'))).toEqual(Buffer.from([1, 0x6f, 0x75, 0x74]));
    expect(decodeChannelMessage(v4, Buffer.from([0, 0x68, 0x69]))).toEqual({ kind: 'data', channel: 0, data: Buffer.from('hi') });
    expect(decodeChannelMessage(v4, Buffer.from([4]))).toEqual({ kind: 'data', channel: 4, data: Buffer.alloc(0) });
    expect(decodeChannelMessage(v4, Buffer.alloc(0))).toEqual({ kind: 'empty' });
  });

  test('base64: an ASCII digit, then base64 text', () => {
    expect(encodeChannelMessage(b64, 2, Buffer.from('err'))).toBe('2ZXJy');
    expect(decodeChannelMessage(b64, Buffer.from('0aGVsbG8='))).toEqual({ kind: 'data', channel: 0, data: Buffer.from('hello') });
    expect(decodeChannelMessage(b64, Buffer.from('xaGk='))).toEqual({ kind: 'invalid', reason: 'base64 channel byte 120' });
  });

  test('v5 close signal names one channel; earlier protocols treat 255 as a channel byte', () => {
    expect(decodeChannelMessage(v5, Buffer.from([255, 0]))).toEqual({ kind: 'close', channel: 0 });
    expect(decodeChannelMessage(v5, Buffer.from([255, 0, 1])).kind).toBe('invalid');
    expect(decodeChannelMessage(v4, Buffer.from([255, 0]))).toEqual({ kind: 'data', channel: 255, data: Buffer.from([0]) });
  });
});
