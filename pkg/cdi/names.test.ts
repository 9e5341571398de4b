import { parseKind, parseQualifiedName } from './names';

describe('CDI names', () => {
  test.each([
    ['vendor.com/class=name', { vendor: 'vendor.com', class: 'class', name: 'name' }],
    ['foo.bar.baz/foo-bar123.B_az=0', { vendor: 'foo.bar.baz', class: 'foo-bar123.B_az', name: '0' }],
    ['nvidia.com/gpu=GPU-3a1b:mig-1', { vendor: 'nvidia.com', class: 'gpu', name: 'GPU-3a1b:mig-1' }],
    ['a/b=c', { vendor: 'a', class: 'b', name: 'c' }],
  ])('%s is fully qualified', (name, want) => {
    expect(parseQualifiedName(name)).toEqual(want);
  });

  test.each([
    ['gpu=0', /kind "gpu" is not of the form vendor\/class/],
    ['vendor.com/gpu', /vendor\/class=name/],
    ['vendor.com/gpu=', /vendor\/class=name/],
    ['/dev/nvidia0', /vendor\/class=name/],
    ['vendor.com/gp/u=0', /class "gp\/u" holds "\/"/],
    ['1vendor.com/gpu=0', /vendor "1vendor.com" does not start with a letter/],
    ['vendor.com/gpu-=0', /class "gpu-" does not end/],
    ['vendor.com/gpu=-0', /device name "-0" does not start/],
    ['vendor.com/gpu=0=1', /device name "0=1" holds "="/],
  ])('%s is not', (name, why) => {
    const got = parseQualifiedName(name);
    expect('error' in got && got.error).toMatch(why);
  });

  test('a kind is vendor/class', () => {
    expect(parseKind('vendor.com/gpu')).toEqual({ vendor: 'vendor.com', class: 'gpu' });
    expect(parseKind('gpu')).toEqual({ error: expect.stringContaining('not of the form vendor/class') });
    expect(parseKind('vendor.com/gpu/')).toEqual({ error: expect.stringContaining('class "gpu/" does not end with a letter or digit') });
  });
});
