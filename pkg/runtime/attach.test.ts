import { PacketReader } from './attach';

const frame = (bytes: number[]) => {
  const b = Buffer.alloc(4 + bytes.length);
  b.writeUInt32BE(bytes.length, 0);
  Buffer.from(bytes).copy(b, 4);
  return b;
};

test('packets split across and joined within chunks come out whole', () => {
  const got: number[][] = [];
  const r = new PacketReader((p) => got.push([...p]));
  const all = Buffer.concat([frame([2, 104, 105]), frame([3, 33]), frame([2])]);
  r.push(all.subarray(0, 2));
  r.push(all.subarray(2, 9));
  r.push(all.subarray(9));
  expect(got).toEqual([[2, 104, 105], [3, 33], [2]]);
});
