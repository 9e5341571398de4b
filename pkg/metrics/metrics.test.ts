import { Metrics } from './metrics';
import { MetricsServer } from './server';

test('RPC observations show up with method and code', async () => {
  const m = new Metrics({ processMetrics: false });
  m.observeCall('Version', 'OK', 0.001);
  m.observeCall('Version', 'OK', 0.002);
  m.observeCall('RunPodSandbox', 'INVALID_ARGUMENT', 0.01);
  const text = await m.registry.metrics();
  expect(text).toContain('krill_grpc_requests_total{method="Version",code="OK"} 2');
  expect(text).toContain('krill_grpc_requests_total{method="RunPodSandbox",code="INVALID_ARGUMENT"} 1');
  expect(text).toMatch(/krill_grpc_request_duration_seconds_count\{method="Version",code="OK"\} 2/);
});

test('time() records success and failure', async () => {
  const m = new Metrics({ processMetrics: false });
  await m.time(m.runtimeSeconds, 'create', async () => 1);
  await expect(m.time(m.runtimeSeconds, 'create', async () => { throw new Error('x'); })).rejects.toThrow('x');
  const text = await m.registry.metrics();
  expect(text).toMatch(/krill_runtime_operation_duration_seconds_count\{operation="create",result="success"\} 1/);
  expect(text).toMatch(/krill_runtime_operation_duration_seconds_count\{operation="create",result="failure"\} 1/);
});

test('config reloads are counted by result, both shown from the start', async () => {
  const m = new Metrics({ processMetrics: false });
  expect(await m.registry.metrics()).toContain('krill_config_reloads_total{result="error"} 0');
  m.configReloadsTotal.inc({ result: 'ok' });
  expect(await m.registry.metrics()).toContain('krill_config_reloads_total{result="ok"} 1');
});

test('the server answers /metrics and 404 elsewhere', async () => {
  const m = new Metrics();
  const server = new MetricsServer(m.registry);
  const addr = await server.listen('127.0.0.1:0');
  try {
    const ok = await fetch(`http://${addr}/metrics`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('krill_process_cpu_seconds_total');
    expect((await fetch(`http://${addr}/`)).status).toBe(404);
  } finally {
    await server.close();
  }
});

test('pods and containers are counted by state at each scrape', async () => {
  const m = new Metrics({ processMetrics: false });
  let containers: Record<string, number> = { running: 2, exited: 1 };
  m.countStates({ pods: () => ({ ready: 3 }), containers: () => containers });
  let text = await m.registry.metrics();
  expect(text).toContain('krill_pods{state="ready"} 3');
  expect(text).toContain('krill_containers{state="running"} 2');
  containers = { exited: 3 };
  text = await m.registry.metrics();
  expect(text).toContain('krill_containers{state="exited"} 3');
  expect(text).not.toContain('krill_containers{state="running"}');
});
