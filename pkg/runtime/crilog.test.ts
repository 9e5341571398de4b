import { parseLogLine, splitStreams } from './crilog';

test('parses full and partial lines', () => {
  expect(parseLogLine('2024-01-02T03:04:05.123456789Z stdout F hello world')).toEqual({
    time: '2024-01-02T03:04:05.123456789Z', stream: 'stdout', partial: false, content: 'hello world',
  });
  expect(parseLogLine('2024-01-02T03:04:05Z stderr P ')).toMatchObject({ stream: 'stderr', partial: true, content: '' });
  expect(parseLogLine('2024-01-02T03:04:05Z stderr F')).toMatchObject({ content: '' });
  expect(parseLogLine('garbage')).toBeUndefined();
});

test('rebuilds each stream: F lines end in a newline, P lines do not', () => {
  const log = Buffer.from(
    [
      'T stdout F one',
      'T stderr F err',
      'T stdout P tw',
      'T stdout F o',
      'T stdout P no-newline',
      '',
    ].join('\n'),
  );
  const { stdout, stderr } = splitStreams(log);
  expect(stdout.toString()).toBe('one\ntwo\nno-newline');
  expect(stderr.toString()).toBe('err\n');
});

test('keeps content with spaces and non-ASCII intact', () => {
  const { stdout } = splitStreams(Buffer.from('T stdout F a  b ✓\n'));
  expect(stdout.toString()).toBe('a  b ✓\n');
});
