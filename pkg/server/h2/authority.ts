// Which :authority and Host values Node's HTTP/2 server (nghttp2) accepts,
// and a same-length stand-in for those it refuses.
//
// nghttp2 resets any request whose :authority (or host, when that is all the
// request has) holds a byte outside its table below; Node offers no way to
// turn the check off. grpc-go before 1.57, dialed with a bare socket path,
// sends that path there (measured: 1.40 to 1.56 do; 1.57 and later do not).

/** The bytes nghttp2 1.6x accepts in :authority and host (probed, and re-checked by the unit test). */
const ALLOWED = ((): Uint8Array => {
  const table = new Uint8Array(256);
  const ranges: [number, number][] = [
    [0x21, 0x21], // !
    [0x24, 0x2e], // $ % & ' ( ) * + , - .
    [0x30, 0x3b], // 0-9 : ;
    [0x3d, 0x3d], // =
    [0x41, 0x5b], // A-Z [
    [0x5d, 0x5d], // ]
    [0x5f, 0x5f], // _
    [0x61, 0x7a], // a-z
    [0x7e, 0x7e], // ~
  ];
  for (const [from, to] of ranges) table.fill(1, from, to + 1);
  return table;
})();

/**
 * What a refused byte becomes: '-' is a plain hostname character, so
 * "/run/krill/krill.sock" reads "-run-krill-krill.sock" in any log, and it
 * cannot combine with its neighbours into something else ('%' could start a
 * percent-escape, ':' a port, '.' a "..").
 */
export const REPLACEMENT = 0x2d;

/** Whether nghttp2 accepts `value` (latin1: one char per byte) as an :authority. */
export function authorityAccepted(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (!ALLOWED[value.charCodeAt(i)]) return false;
  return true;
}

/** `value` with every refused byte replaced by REPLACEMENT: the same length, always accepted unless empty. */
export function sanitizeAuthority(value: string): Buffer {
  const out = Buffer.from(value, 'latin1');
  for (let i = 0; i < out.length; i++) if (!ALLOWED[out[i]!]) out[i] = REPLACEMENT;
  return out;
}
