import { redirectHop, type Hop } from './http';

const get: Hop = { method: 'GET', headers: { authorization: 'Bearer t', accept: 'x' } };
const hop = (from: string, to: string, status: number, h: Hop = get): Hop => redirectHop(new URL(from), new URL(to), status, h);

test('credentials stay on same-origin redirects', () => {
  expect(hop('https://r.example/v2/a', 'https://r.example/v2/b', 307)).toEqual(get);
  expect(hop('http://127.0.0.1:5000/v2/a', 'http://127.0.0.1:5000/other', 302)).toEqual(get);
});

test.each([
  ['another host', 'https://r.example/v2/a', 'https://storage.example/blob'],
  ['another port', 'https://r.example/v2/a', 'https://r.example:8443/blob'],
  ['https to http, same host', 'https://r.example/v2/a', 'http://r.example/v2/a'],
  ['http to https, same host', 'http://r.example/v2/a', 'https://r.example/v2/a'],
])('credentials are dropped on a redirect to %s', (_what, from, to) => {
  const h: Hop = { method: 'GET', headers: { authorization: 'Basic x', cookie: 'c', 'proxy-authorization': 'p', accept: 'x' } };
  expect(hop(from, to, 307, h)).toEqual({ method: 'GET', headers: { accept: 'x' } });
});

test('a POST becomes a GET without its body on 301/302/303 and keeps both on a same-origin 307/308', () => {
  const post: Hop = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'refresh_token=secret' };
  for (const status of [301, 302, 303]) expect(hop('https://a/t', 'https://b/t', status, post)).toEqual({ method: 'GET', headers: {} });
  expect(hop('https://a/t', 'https://a/u', 307, post)).toEqual(post);
  expect(hop('https://a/t', 'https://a/u', 308, post)).toEqual(post);
});

test('a body is never resent to another origin', () => {
  const post: Hop = { method: 'POST', headers: {}, body: 'refresh_token=secret' };
  expect(() => hop('https://a/t', 'https://b/t', 307, post)).toThrow('https://a redirected a POST with a body to https://b; not followed');
  expect(() => hop('https://a/t', 'http://a/t', 308, post)).toThrow('not followed');
});
