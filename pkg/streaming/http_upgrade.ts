// Raw HTTP/1.1 responses on a socket taken over by an 'upgrade' event.
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';

export function writeUpgradeError(socket: Duplex, code: number, message: string, headers: Record<string, string | string[]> = {}): void {
  if (socket.destroyed) return;
  const body = Buffer.from(`${message}\n`);
  const lines = [`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}`, 'Content-Type: text/plain; charset=utf-8', 'X-Content-Type-Options: nosniff', `Content-Length: ${body.length}`, 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]));
}

export function writeSwitchingProtocols(socket: Duplex, headers: Record<string, string>): void {
  const lines = ['HTTP/1.1 101 Switching Protocols'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
}
