import { HpackDecoder, HpackError, encodeInteger, encodeRawString, type Representation } from './hpack';
import { huffmanDecode, huffmanEncode, HuffmanError } from './huffman';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const fields = (reps: Representation[]): [string, string][] =>
  reps.flatMap((r) => (r.type === 'size-update' ? [] : [[r.name, r.value] as [string, string]]));

interface Step {
  block: string;
  headers: [string, string][];
  table: [string, string][];
  size: number;
}

// RFC 7541 Appendix C: each series is one connection's blocks in order.
const C3_C4_HEADERS: [string, string][][] = [
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
  [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
];
const C3_C4_TABLES: [string, string][][] = [
  [[':authority', 'www.example.com']],
  [['cache-control', 'no-cache'], [':authority', 'www.example.com']],
  [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']],
];
const C3_C4_SIZES = [57, 110, 164];

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOCATION = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const C5_C6_HEADERS: [string, string][][] = [
  [[':status', '302'], ['cache-control', 'private'], ['date', DATE1], ['location', LOCATION]],
  [[':status', '307'], ['cache-control', 'private'], ['date', DATE1], ['location', LOCATION]],
  [[':status', '200'], ['cache-control', 'private'], ['date', DATE2], ['location', LOCATION], ['content-encoding', 'gzip'], ['set-cookie', COOKIE]],
];
const C5_C6_TABLES: [string, string][][] = [
  [['location', LOCATION], ['date', DATE1], ['cache-control', 'private'], [':status', '302']],
  [[':status', '307'], ['location', LOCATION], ['date', DATE1], ['cache-control', 'private']],
  [['set-cookie', COOKIE], ['content-encoding', 'gzip'], ['date', DATE2]],
];
const C5_C6_SIZES = [222, 222, 215];

const series = (blocks: string[], headers: [string, string][][], tables: [string, string][][], sizes: number[]): Step[] =>
  blocks.map((block, i) => ({ block, headers: headers[i]!, table: tables[i]!, size: sizes[i]! }));

const SERIES: [string, number, Step[]][] = [
  [
    'C.3 requests without Huffman coding',
    4096,
    series(
      ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'],
      C3_C4_HEADERS,
      C3_C4_TABLES,
      C3_C4_SIZES,
    ),
  ],
  [
    'C.4 requests with Huffman coding',
    4096,
    series(
      ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'],
      C3_C4_HEADERS,
      C3_C4_TABLES,
      C3_C4_SIZES,
    ),
  ],
  [
    'C.5 responses without Huffman coding (table of 256: evictions)',
    256,
    series(
      [
        `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
         2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
        '4803 3330 37c1 c0bf',
        `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
         54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
         5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
      ],
      C5_C6_HEADERS,
      C5_C6_TABLES,
      C5_C6_SIZES,
    ),
  ],
  [
    'C.6 responses with Huffman coding (table of 256: evictions)',
    256,
    series(
      [
        `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
         2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
        '4883 640e ffc1 c0bf',
        `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
         77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
         9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
      ],
      C5_C6_HEADERS,
      C5_C6_TABLES,
      C5_C6_SIZES,
    ),
  ],
];

describe.each(SERIES)('RFC 7541 %s', (_name, tableSize, steps) => {
  test('decodes every block and keeps the dynamic table as the RFC shows it', () => {
    const d = new HpackDecoder({ tableSize });
    for (const step of steps) {
      expect(fields(d.decode(hex(step.block)))).toEqual(step.headers);
      expect(d.dynamicEntries()).toEqual(step.table);
      expect(d.tableSize.used).toBe(step.size);
    }
  });
});

describe('RFC 7541 C.2 single representations', () => {
  test('C.2.1 literal with incremental indexing, new name', () => {
    const d = new HpackDecoder();
    const block = hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572');
    expect(d.decode(block)).toEqual([
      { type: 'literal', indexing: 'incremental', name: 'custom-key', value: 'custom-header', start: 0, valueStart: 12, end: block.length },
    ]);
    expect(d.tableSize.used).toBe(55);
  });

  test('C.2.2 literal without indexing, indexed name', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('040c 2f73 616d 706c 652f 7061 7468'))).toEqual([
      { type: 'literal', indexing: 'without', name: ':path', value: '/sample/path', start: 0, valueStart: 1, end: 14 },
    ]);
    expect(d.tableSize.used).toBe(0);
  });

  test('C.2.3 literal never indexed', () => {
    const d = new HpackDecoder();
    expect(fields(d.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74')))).toEqual([['password', 'secret']]);
    expect(d.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'))[0]).toMatchObject({ indexing: 'never' });
    expect(d.tableSize.used).toBe(0);
  });

  test('C.2.4 indexed field', () => {
    expect(new HpackDecoder().decode(hex('82'))).toEqual([{ type: 'indexed', name: ':method', value: 'GET', start: 0, end: 1 }]);
  });
});

describe('RFC 7541 C.1 integers', () => {
  test.each([
    [10, 5, '0a'],
    [1337, 5, '1f9a0a'],
    [42, 8, '2a'],
  ])('%d with a %d-bit prefix', (value, prefix, encoded) => {
    expect(encodeInteger(value, prefix).toString('hex')).toBe(encoded);
  });

  test('a size update decodes its integer and resizes the table', () => {
    const d = new HpackDecoder({ maxTableSize: 8192 });
    // 001 prefix, 5 bits: 8000 = 31 + 7969 → 1f a1 3e
    expect(d.decode(Buffer.concat([encodeInteger(8000, 5, 0x20)]))).toEqual([{ type: 'size-update', size: 8000, start: 0, end: 3 }]);
    expect(d.tableSize.max).toBe(8000);
  });
});

describe('dynamic table', () => {
  test('a size update evicts the oldest entries, and indexes shift', () => {
    const d = new HpackDecoder();
    d.decode(Buffer.concat([Buffer.from([0x40]), encodeRawString(Buffer.from('a')), encodeRawString(Buffer.from('1'))])); // 34
    d.decode(Buffer.concat([Buffer.from([0x40]), encodeRawString(Buffer.from('b')), encodeRawString(Buffer.from('2'))])); // 34
    expect(fields(d.decode(hex('bebf')))).toEqual([['b', '2'], ['a', '1']]);
    expect(fields(d.decode(Buffer.concat([encodeInteger(40, 5, 0x20), hex('be')])))).toEqual([['b', '2']]);
    expect(() => d.decode(hex('bf'))).toThrow(HpackError);
  });

  test('an entry larger than the table empties it and is not added', () => {
    const d = new HpackDecoder({ tableSize: 64 });
    d.decode(Buffer.concat([Buffer.from([0x40]), encodeRawString(Buffer.from('a')), encodeRawString(Buffer.from('1'))]));
    d.decode(Buffer.concat([Buffer.from([0x40]), encodeRawString(Buffer.from('big')), encodeRawString(Buffer.alloc(40, 0x78))]));
    expect(d.dynamicEntries()).toEqual([]);
    expect(d.tableSize.used).toBe(0);
  });

  test('thousands of insertions keep the size and newest-first order', () => {
    const d = new HpackDecoder();
    for (let i = 0; i < 5000; i++) {
      d.decode(Buffer.concat([Buffer.from([0x40]), encodeRawString(Buffer.from('k')), encodeRawString(Buffer.from(String(i).padStart(6, '0')))]));
    }
    const entries = d.dynamicEntries();
    expect(entries).toHaveLength(Math.floor(4096 / 39));
    expect(entries[0]).toEqual(['k', '004999']);
    expect(d.tableSize.used).toBe(entries.length * 39);
  });
});

describe('malformed blocks are decoding errors', () => {
  test.each([
    ['index 0', '80'],
    ['an index past the tables', 'be'],
    ['a truncated integer', '3f'],
    ['a string longer than the block', '0003 61'],
    ['a size update above the limit', '3fe926'],
    ['a size update after a field', '82 20'],
    ['an integer of more than 32 bits', '1fffffffff0f'],
    ['an integer with too many continuation bytes', '1f808080808000'],
    ['a literal name index past the tables', '7f10 0161'],
  ])('%s', (_name, block) => {
    expect(() => new HpackDecoder().decode(hex(block))).toThrow(HpackError);
  });

  test('Huffman errors surface as HpackError', () => {
    // 0x00 is "0" (5 bits 00000) followed by three zero padding bits.
    expect(() => new HpackDecoder().decode(hex('0001 61 81 00'))).toThrow(HpackError);
  });
});

describe('Huffman', () => {
  test('every byte value round-trips', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(huffmanDecode(huffmanEncode(all))).toEqual(all);
    expect(huffmanDecode(huffmanEncode(Buffer.from('/run/krill/krill.sock'))).toString()).toBe('/run/krill/krill.sock');
  });

  test('RFC 7541 C.4.1: www.example.com', () => {
    expect(huffmanEncode(Buffer.from('www.example.com')).toString('hex')).toBe('f1e3c2e5f23a6ba0ab90f4ff');
  });

  test('padding of 8 or more bits, padding with a zero, and EOS are errors', () => {
    // "a" is 00011 (5 bits); then 3 bits of 1 pad it.
    expect(huffmanDecode(hex('1f')).toString()).toBe('a');
    expect(() => huffmanDecode(hex('1fff'))).toThrow(HuffmanError);
    expect(() => huffmanDecode(hex('1e'))).toThrow(HuffmanError);
    expect(() => huffmanDecode(hex('ffffffff'))).toThrow(HuffmanError); // EOS (30 ones) inside
  });
});
