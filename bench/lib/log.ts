// Progress lines on stderr (stdout carries the result tables).
const start = performance.now();

export function log(message: string): void {
  const s = ((performance.now() - start) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${message}\n`);
}
