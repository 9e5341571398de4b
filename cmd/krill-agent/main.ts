// krill-agent: Krill's node agent (a DaemonSet pod beside krilld). Subcommands:
//   run        (default) the controllers: condition, labels, cluster config, image caches
//   uninstall  the Helm pre-delete hook: every agent cleans up its Node, then leftovers are removed
// Settings come from the environment (pkg/agent/env.ts; README: The node agent).
import { connectCri } from '../../pkg/criclient/client';
import { createLogger, type Logger } from '../../pkg/log/logger';
import { Agent } from '../../pkg/agent/agent';
import { parseAgentEnv } from '../../pkg/agent/env';
import { hostFacts } from '../../pkg/agent/host';
import { agentHttpServer } from '../../pkg/agent/http';
import { kubeApi, loadKubeConfig } from '../../pkg/agent/kube';
import { AgentMetrics } from '../../pkg/agent/metrics';
import { criRuntime } from '../../pkg/agent/runtime';
import { errorText } from '../../pkg/agent/types';
import { runUninstall } from '../../pkg/agent/uninstall_command';
import { realClock } from '../../pkg/agent/watchdog';

const USAGE = `usage: krill-agent [run|uninstall]
  run        run the node agent (default)
  uninstall  ask every agent to remove what it wrote, wait up to 60 s (KRILL_AGENT_UNINSTALL_TIMEOUT), remove what is left
Environment: NODE_NAME, POD_NAMESPACE (required); KRILL_SOCKET, KRILL_DROPIN_DIR, KRILL_AGENT_CONFIGMAP,
KRILL_AGENT_METRICS, KRILL_AGENT_HEARTBEAT, KRILL_AGENT_PROBE, KRILL_AGENT_MAX_RESTARTS, KRILL_AGENT_LEASE_TTL,
KRILL_AGENT_IMAGE_RESOLVE; KUBECONFIG outside a cluster.
`;

const COMPONENT = 'krill-agent';

function logger(): Logger {
  const level = process.env.KRILL_AGENT_LOG_LEVEL === 'debug' ? 'debug' : 'info';
  return createLogger(level).child({ component: COMPONENT });
}

async function run(log: Logger): Promise<void> {
  const env = parseAgentEnv(process.env);
  const metrics = new AgentMetrics();
  const kube = kubeApi(loadKubeConfig(process.env), metrics, COMPONENT);
  const runtime = criRuntime(connectCri(env.socket));
  const agent = new Agent({ env, kube, runtime, host: await hostFacts(), clock: realClock, metrics, log });
  const http = agentHttpServer(metrics.registry, () => agent.health());
  const bound = await http.listen(env.metricsAddress);
  log.info({ node: env.nodeName, socket: env.socket, metrics: bound, configmap: env.configMap || null }, 'krill-agent starting');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    void agent
      .stop()
      .then(() => http.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The API server may be unreachable at boot: try the first read again rather than crash-loop at once.
  for (let attempt = 1; ; attempt++) {
    try {
      await agent.start();
      return;
    } catch (err) {
      if (stopping) return;
      log.error({ err: errorText(err), attempt }, 'start failed: trying again');
      if (attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** attempt)));
    }
  }
}

/** How long `uninstall` waits for the agents (KRILL_AGENT_UNINSTALL_TIMEOUT seconds, default 60). */
function uninstallTimeoutSeconds(env: NodeJS.ProcessEnv): number {
  const raw = env.KRILL_AGENT_UNINSTALL_TIMEOUT?.trim();
  if (!raw) return 60;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`krill-agent: bad environment: KRILL_AGENT_UNINSTALL_TIMEOUT=${JSON.stringify(raw)}: want seconds >= 0`);
  return n;
}

async function uninstall(log: Logger): Promise<void> {
  const namespace = process.env.POD_NAMESPACE?.trim();
  if (!namespace) throw new Error('krill-agent: bad environment: POD_NAMESPACE is required');
  const kube = kubeApi(loadKubeConfig(process.env), new AgentMetrics(), COMPONENT);
  const result = await runUninstall(
    kube,
    { namespace, configMap: process.env.KRILL_AGENT_CONFIGMAP?.trim() ?? '', timeoutMs: uninstallTimeoutSeconds(process.env) * 1000, pollMs: 2000, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), now: () => Date.now() },
    log,
  );
  log.info(result, 'uninstall done');
}

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0] ?? 'run';
  if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.length > 1 || (cmd !== 'run' && cmd !== 'uninstall')) {
    process.stderr.write(USAGE);
    return 2;
  }
  const log = logger();
  try {
    if (cmd === 'run') await run(log);
    else await uninstall(log);
    return cmd === 'run' ? -1 : 0;
  } catch (err) {
    log.fatal({ err: errorText(err) }, `${cmd} failed`);
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  // run keeps going on its loops; uninstall and errors exit (after the async logger flushes).
  if (code >= 0) setTimeout(() => process.exit(code), 100);
});
