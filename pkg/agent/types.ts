// The narrow view of the Kubernetes API the controllers use. pkg/agent/kube.ts
// implements it with @kubernetes/client-node; unit tests use fakes. Objects are
// typed only as far as the agent reads them.

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface NodeObject {
  metadata?: ObjectMeta;
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string; lastHeartbeatTime?: string | Date; lastTransitionTime?: string | Date }[] };
}

export interface ConfigMapObject {
  metadata?: ObjectMeta;
  data?: Record<string, string>;
}

export interface CustomObject {
  metadata?: ObjectMeta;
  spec?: unknown;
  status?: unknown;
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** A JSON merge patch of a Node's labels and annotations (null removes a key). */
export interface MetadataPatch {
  labels?: Record<string, string | null>;
  annotations?: Record<string, string | null>;
}

/** A list+watch cache of one kind of object (client-node's ListWatch behind it). */
export interface Informer<T> {
  on(event: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  on(event: 'error', cb: (err: unknown) => void): void;
  on(event: 'connect', cb: () => void): void;
  /** After each LIST has been applied to the cache (the first sync, and every relist). */
  on(event: 'synced', cb: () => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  list(): T[];
}

export interface KubeApi {
  getNode(name: string): Promise<NodeObject>;
  listNodes(): Promise<NodeObject[]>;
  /** Strategic-merge patch of nodes/status. */
  patchNodeStatus(name: string, patch: object): Promise<void>;
  /** JSON merge patch of a Node's labels/annotations. */
  patchNodeMetadata(name: string, patch: MetadataPatch): Promise<void>;
  /** A core/v1 Event about the Node (namespace default, as kubelet's are). */
  nodeEvent(node: NodeObject, event: EventSpec): Promise<void>;
  getConfigMap(namespace: string, name: string): Promise<ConfigMapObject | undefined>;
  /** JSON merge patch of a ConfigMap's annotations; false when there is no such ConfigMap. */
  annotateConfigMap(namespace: string, name: string, annotations: Record<string, string | null>): Promise<boolean>;
  /** Server-side apply of this node's entries of an ImageCache's status.nodes (field manager per node). */
  applyImageCacheStatus(cache: string, node: string, entries: readonly object[]): Promise<void>;
  nodeInformer(name: string): Informer<NodeObject>;
  configMapInformer(namespace: string, name: string): Informer<ConfigMapObject>;
  imageCacheInformer(): Informer<CustomObject>;
}

/** The HTTP status of a failed API call (0 when there was none). */
export function httpStatus(err: unknown): number {
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return 0;
}

export function errorText(err: unknown): string {
  const e = err as { message?: unknown; body?: unknown };
  const body = typeof e?.body === 'string' ? e.body : e?.body ? JSON.stringify(e.body) : '';
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  return body && !msg.includes(body) ? `${msg}: ${body}`.slice(0, 1000) : msg.slice(0, 1000);
}
