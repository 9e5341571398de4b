import { ENV_DEFAULTS, parseAgentEnv } from './env';

test('defaults fill everything but the two required names', () => {
  const env = parseAgentEnv({ NODE_NAME: 'n1', POD_NAMESPACE: 'krill-system' });
  expect(env).toEqual({
    nodeName: 'n1',
    podNamespace: 'krill-system',
    socket: ENV_DEFAULTS.socket,
    dropinDir: ENV_DEFAULTS.dropinDir,
    configMap: '',
    metricsAddress: '0.0.0.0:9465',
    heartbeatSeconds: 30,
    probeSeconds: 2,
    maxRestarts: 1,
    leaseTtlSeconds: 60,
    imageCacheResolveSeconds: 600,
  });
});

test('every variable of the contract is read', () => {
  const env = parseAgentEnv({
    NODE_NAME: 'n1',
    POD_NAMESPACE: 'ns',
    KRILL_SOCKET: '/run/x.sock',
    KRILL_DROPIN_DIR: '/d',
    KRILL_AGENT_CONFIGMAP: 'krill-config',
    KRILL_AGENT_METRICS: '[::]:9000',
    KRILL_AGENT_HEARTBEAT: '10',
    KRILL_AGENT_PROBE: '0.5',
    KRILL_AGENT_MAX_RESTARTS: '3',
    KRILL_AGENT_LEASE_TTL: '90',
  });
  expect(env).toMatchObject({ socket: '/run/x.sock', dropinDir: '/d', configMap: 'krill-config', metricsAddress: '[::]:9000', heartbeatSeconds: 10, probeSeconds: 0.5, maxRestarts: 3, leaseTtlSeconds: 90 });
});

test('one error names every bad variable', () => {
  expect(() => parseAgentEnv({ KRILL_AGENT_HEARTBEAT: 'soon', KRILL_AGENT_MAX_RESTARTS: '1.5', KRILL_AGENT_METRICS: 'nohost' })).toThrow(
    /NODE_NAME is required; POD_NAMESPACE is required; KRILL_AGENT_METRICS="nohost": want host:port; KRILL_AGENT_HEARTBEAT="soon".*KRILL_AGENT_MAX_RESTARTS="1.5"/,
  );
});
