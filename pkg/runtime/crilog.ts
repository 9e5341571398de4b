// The CRI container log format conmon writes: one entry a line,
//   <RFC3339Nano time> <stdout|stderr> <P|F> <content>
// where P marks a partial line (no newline in the output) and F a full one.

export type Stream = 'stdout' | 'stderr';

export interface LogEntry {
  time: string;
  stream: Stream;
  partial: boolean;
  content: string;
}

const LINE = /^(\S+) (stdout|stderr) ([PF])(?: (.*))?$/s;

export function parseLogLine(line: string): LogEntry | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  return { time: m[1]!, stream: m[2] as Stream, partial: m[3] === 'P', content: m[4] ?? '' };
}

/** The bytes each stream wrote, rebuilt from a whole log. */
export function splitStreams(log: Buffer): { stdout: Buffer; stderr: Buffer } {
  const out: Record<Stream, Buffer[]> = { stdout: [], stderr: [] };
  let start = 0;
  while (start < log.length) {
    let end = log.indexOf(0x0a, start);
    if (end < 0) end = log.length;
    const entry = parseLogLine(log.toString('utf8', start, end));
    start = end + 1;
    if (!entry) continue;
    out[entry.stream].push(Buffer.from(entry.content, 'utf8'));
    if (!entry.partial) out[entry.stream].push(Buffer.from('\n'));
  }
  return { stdout: Buffer.concat(out.stdout), stderr: Buffer.concat(out.stderr) };
}
