import { ContainerConfig, type DeepPartial } from '../../api/runtime/v1/api';
import { invalidArgumentMessage as invalid } from '../errors/testing';
import { requestedDevices } from './request';

const config = (c: DeepPartial<ContainerConfig>): ContainerConfig => ContainerConfig.fromPartial(c);

describe('requestedDevices', () => {
  test('CDI_devices, then cdi.k8s.io/ annotations by key; each device once; other annotations ignored', () => {
    const got = requestedDevices(
      config({
        CDIDevices: [{ name: 'example.com/gpu=0' }, { name: 'example.com/gpu=1' }],
        annotations: {
          'cdi.k8s.io/z-plugin': 'example.com/nic=a',
          'cdi.k8s.io/a-plugin': 'example.com/gpu=1,example.com/fpga=x',
          'example.com/gpu': 'not a device',
        },
      }),
    );
    expect(got).toEqual([
      { name: 'example.com/gpu=0', field: 'config.CDI_devices[0].name' },
      { name: 'example.com/gpu=1', field: 'config.CDI_devices[1].name' },
      { name: 'example.com/fpga=x', field: 'config.annotations["cdi.k8s.io/a-plugin"]' },
      { name: 'example.com/nic=a', field: 'config.annotations["cdi.k8s.io/z-plugin"]' },
    ]);
  });

  test('none', () => {
    expect(requestedDevices(config({}))).toEqual([]);
  });

  test('a name that is not fully qualified is InvalidArgument naming the field', () => {
    expect(invalid(() => requestedDevices(config({ CDIDevices: [{ name: 'example.com/gpu=0' }, { name: 'gpu0' }] })))).toMatch(/^config\.CDI_devices\[1\]\.name: "gpu0" is not a fully qualified/);
    expect(invalid(() => requestedDevices(config({ annotations: { 'cdi.k8s.io/p': 'example.com/gpu=0,' } })))).toMatch(/^config\.annotations\["cdi\.k8s\.io\/p"\]: "" is not/);
  });
});
