import { KeyValue } from '../../api/runtime/v1/api';
import { invalidArgumentMessage as invalid } from '../errors/testing';
import type { ImageConfig } from './image_config';
import { DEFAULT_PATH_ENV, processArgs, processCwd, processEnv } from './process';

const image: ImageConfig = { Entrypoint: ['/entry', '-e'], Cmd: ['cmd', '-c'] };

describe('process args follow the Kubernetes command/args rules', () => {
  test('command replaces the image Entrypoint and the image Cmd is ignored', () => {
    expect(processArgs(['/bin/sh'], [], image)).toEqual(['/bin/sh']);
  });
  test('command and args: command then args, nothing from the image', () => {
    expect(processArgs(['/bin/sh', '-c'], ['echo hi'], image)).toEqual(['/bin/sh', '-c', 'echo hi']);
  });
  test('only args: image Entrypoint then args (the image Cmd is replaced)', () => {
    expect(processArgs([], ['a', 'b'], image)).toEqual(['/entry', '-e', 'a', 'b']);
  });
  test('neither: image Entrypoint then image Cmd', () => {
    expect(processArgs([], [], image)).toEqual(['/entry', '-e', 'cmd', '-c']);
  });
  test('neither, image with only Cmd', () => {
    expect(processArgs([], [], { Cmd: ['sh'], Entrypoint: null })).toEqual(['sh']);
  });
  test('only args, image with no Entrypoint: args alone', () => {
    expect(processArgs([], ['/bin/true'], { Cmd: ['sh'] })).toEqual(['/bin/true']);
  });
  test('an Entrypoint of [""] means none', () => {
    expect(processArgs([], [], { Entrypoint: [''], Cmd: ['sh'] })).toEqual(['sh']);
  });
  test('no command anywhere is InvalidArgument naming config.command', () => {
    expect(invalid(() => processArgs([], [], {}))).toMatch(/^config\.command/);
    expect(invalid(() => processArgs([], [], { Entrypoint: [''], Cmd: null }))).toMatch(/config\.command/);
  });
  test('the inputs are not shared with the result', () => {
    const cmd = ['x'];
    const out = processArgs(cmd, [], image);
    out.push('y');
    expect(cmd).toEqual(['x']);
  });
});

describe('environment', () => {
  const kv = (key: string, value: string): KeyValue => ({ key, value: Buffer.from(value) });
  test('default PATH, HOSTNAME, then image env, then request env', () => {
    const env = processEnv({ image: { Env: ['A=image', 'B=image'] }, envs: [kv('B', 'request'), kv('C', 'request')], hostname: 'pod-1', tty: false });
    expect(env).toEqual([DEFAULT_PATH_ENV, 'HOSTNAME=pod-1', 'A=image', 'B=request', 'C=request']);
  });
  test('the image PATH replaces the default in place; the request replaces the image', () => {
    expect(processEnv({ image: { Env: ['PATH=/img'] }, envs: [], hostname: '', tty: false })).toEqual(['PATH=/img']);
    expect(processEnv({ image: { Env: ['PATH=/img'] }, envs: [kv('PATH', '/req')], hostname: '', tty: false })).toEqual(['PATH=/req']);
  });
  test('TERM only with a tty, and the image or request may override it', () => {
    expect(processEnv({ image: {}, envs: [], hostname: '', tty: false })).not.toContain('TERM=xterm');
    expect(processEnv({ image: {}, envs: [], hostname: '', tty: true })).toContain('TERM=xterm');
    expect(processEnv({ image: {}, envs: [kv('TERM', 'vt100')], hostname: '', tty: true })).toEqual([DEFAULT_PATH_ENV, 'TERM=vt100']);
  });
  test('the request may override HOSTNAME; an empty hostname adds none', () => {
    expect(processEnv({ image: {}, envs: [kv('HOSTNAME', 'x')], hostname: 'pod', tty: false })).toEqual([DEFAULT_PATH_ENV, 'HOSTNAME=x']);
    expect(processEnv({ image: {}, envs: [], hostname: '', tty: false })).toEqual([DEFAULT_PATH_ENV]);
  });
  test('values keep "=" and may be empty', () => {
    expect(processEnv({ image: { Env: ['X=a=b', 'E='] }, envs: [kv('Y', '')], hostname: '', tty: false })).toEqual([DEFAULT_PATH_ENV, 'X=a=b', 'E=', 'Y=']);
  });
  test('image entries without "=" are ignored; null Env is fine', () => {
    expect(processEnv({ image: { Env: ['JUNK', '=x'] }, envs: [], hostname: '', tty: false })).toEqual([DEFAULT_PATH_ENV]);
    expect(processEnv({ image: { Env: null }, envs: [], hostname: '', tty: false })).toEqual([DEFAULT_PATH_ENV]);
  });
  test('bad request keys are InvalidArgument naming the entry', () => {
    expect(invalid(() => processEnv({ image: {}, envs: [kv('A', '1'), kv('', 'x')], hostname: '', tty: false }))).toMatch(/^config\.envs\[1\]\.key/);
    expect(invalid(() => processEnv({ image: {}, envs: [kv('A=B', 'x')], hostname: '', tty: false }))).toMatch(/^config\.envs\[0\]\.key/);
    expect(invalid(() => processEnv({ image: {}, envs: [kv('A', 'x\0y')], hostname: '', tty: false }))).toMatch(/^config\.envs\[0\]/);
  });
});

describe('working directory', () => {
  test('the request wins, then the image, then /', () => {
    expect(processCwd('/req', { WorkingDir: '/img' })).toBe('/req');
    expect(processCwd('', { WorkingDir: '/img' })).toBe('/img');
    expect(processCwd('', {})).toBe('/');
  });
  test('paths are cleaned', () => {
    expect(processCwd('/a/./b/../c/', {})).toBe('/a/c');
    expect(processCwd('', { WorkingDir: 'rel/dir' })).toBe('/rel/dir');
  });
  test('a relative request working_dir is InvalidArgument', () => {
    expect(invalid(() => processCwd('app', {}))).toMatch(/^config\.working_dir/);
  });
});
