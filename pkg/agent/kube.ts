// The one module that loads @kubernetes/client-node (ESM-only; Node 24's
// require() of ES modules loads it from this CommonJS tree). Everything else in
// the agent sees the KubeApi interface of ./types, so unit tests of the
// controllers never load client-node, and krilld (which never imports
// pkg/agent) does not depend on it.
import * as k8s from '@kubernetes/client-node';
import type { AgentMetrics } from './metrics';
import type { ConfigMapObject, CustomObject, EventSpec, Informer, KubeApi, MetadataPatch, NodeObject } from './types';
import { httpStatus } from './types';
import { IMAGE_CACHE_GROUP, IMAGE_CACHE_PLURAL, IMAGE_CACHE_VERSION } from './image_cache';

/** In a pod: the ServiceAccount; outside: $KUBECONFIG (or ~/.kube/config). */
export function loadKubeConfig(env: Readonly<Record<string, string | undefined>>): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (env.KUBERNETES_SERVICE_HOST && !env.KUBECONFIG) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

const strategic = () => k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const merge = () => k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const apply = () => k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);

export function kubeApi(kc: k8s.KubeConfig, metrics: AgentMetrics, component: string): KubeApi {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const count = (verb: string, resource: string) => metrics.apiRequests.inc({ verb, resource });

  const informer = <T extends k8s.KubernetesObject>(
    resource: string,
    path: string,
    list: () => Promise<k8s.KubernetesListObject<T>>,
    fieldSelector?: string,
  ): Informer<T> => {
    const synced: (() => void)[] = [];
    const lw = new k8s.ListWatch<T>(
      path,
      new k8s.Watch(kc),
      async () => {
        count('list', resource);
        const result = await list();
        // ListWatch applies the items right after this promise settles; report the sync after that.
        setImmediate(() => synced.forEach((cb) => cb()));
        return result;
      },
      false,
      undefined,
      fieldSelector,
    );
    // Each connect is one watch request (after the LIST when there was one).
    lw.on('connect', () => count('watch', resource));
    return {
      on: ((event: 'add' | 'update' | 'delete' | 'error' | 'connect' | 'synced', cb: (x?: unknown) => void) => {
        if (event === 'synced') synced.push(cb as () => void);
        else lw.on(event as 'add', cb as (o: T) => void);
      }) as Informer<T>['on'],
      start: () => lw.start(),
      stop: () => lw.stop(),
      list: () => [...lw.list()],
    };
  };

  return {
    async getNode(name) {
      count('get', 'nodes');
      return (await core.readNode({ name })) as NodeObject;
    },
    async listNodes() {
      count('list', 'nodes');
      return (await core.listNode()).items as NodeObject[];
    },
    async patchNodeStatus(name, patch) {
      count('patch', 'nodes/status');
      await core.patchNodeStatus({ name, body: patch, fieldManager: component }, strategic());
    },
    async patchNodeMetadata(name, patch: MetadataPatch) {
      count('patch', 'nodes');
      await core.patchNode({ name, body: { metadata: patch }, fieldManager: component }, merge());
    },
    async nodeEvent(node, event: EventSpec) {
      count('create', 'events');
      const now = new Date();
      const name = node.metadata?.name ?? '';
      await core.createNamespacedEvent({
        namespace: 'default',
        body: {
          metadata: { generateName: `${name}.krill-` , namespace: 'default' },
          involvedObject: { apiVersion: 'v1', kind: 'Node', name, uid: name },
          type: event.type,
          reason: event.reason,
          message: event.message.slice(0, 1024),
          source: { component, host: name },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          reportingComponent: component,
          reportingInstance: name,
        },
      });
    },
    async getConfigMap(namespace, name) {
      count('get', 'configmaps');
      try {
        return (await core.readNamespacedConfigMap({ namespace, name })) as ConfigMapObject;
      } catch (err) {
        if (httpStatus(err) === 404) return undefined;
        throw err;
      }
    },
    async annotateConfigMap(namespace, name, annotations) {
      count('patch', 'configmaps');
      try {
        await core.patchNamespacedConfigMap({ namespace, name, body: { metadata: { annotations } }, fieldManager: component }, merge());
        return true;
      } catch (err) {
        if (httpStatus(err) === 404) return false;
        throw err;
      }
    },
    async applyImageCacheStatus(cache, node, entries) {
      count('patch', 'imagecaches/status');
      await custom.patchClusterCustomObjectStatus(
        {
          group: IMAGE_CACHE_GROUP,
          version: IMAGE_CACHE_VERSION,
          plural: IMAGE_CACHE_PLURAL,
          name: cache,
          body: { apiVersion: `${IMAGE_CACHE_GROUP}/${IMAGE_CACHE_VERSION}`, kind: 'ImageCache', metadata: { name: cache }, status: { nodes: entries } },
          fieldManager: `krill-agent-${node}`.slice(0, 128),
          force: true,
        },
        apply(),
      );
    },
    nodeInformer(name) {
      return informer<k8s.V1Node>('nodes', '/api/v1/nodes', () => core.listNode({ fieldSelector: `metadata.name=${name}` }), `metadata.name=${name}`) as Informer<NodeObject>;
    },
    configMapInformer(namespace, name) {
      return informer<k8s.V1ConfigMap>(
        'configmaps',
        `/api/v1/namespaces/${namespace}/configmaps`,
        () => core.listNamespacedConfigMap({ namespace, fieldSelector: `metadata.name=${name}` }),
        `metadata.name=${name}`,
      ) as Informer<ConfigMapObject>;
    },
    imageCacheInformer() {
      return informer<k8s.KubernetesObject>(
        'imagecaches',
        `/apis/${IMAGE_CACHE_GROUP}/${IMAGE_CACHE_VERSION}/${IMAGE_CACHE_PLURAL}`,
        async () =>
          (await custom.listClusterCustomObject({ group: IMAGE_CACHE_GROUP, version: IMAGE_CACHE_VERSION, plural: IMAGE_CACHE_PLURAL })) as k8s.KubernetesListObject<k8s.KubernetesObject>,
      ) as Informer<CustomObject>;
    },
  };
}
