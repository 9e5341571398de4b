// Fakes for the agent's unit tests: a manual clock, an informer driven by the
// test, an in-memory API (KubeApi) and krilld (KrillRuntime).
import type { Image, StatusResponse, VersionResponse } from '../../../api/runtime/v1/api';
import type { ReloadResult } from '../cluster_config';
import { ReloadError, type KrillRuntime } from '../runtime';
import type { ConfigMapObject, CustomObject, EventSpec, Informer, KubeApi, MetadataPatch, NodeObject } from '../types';
import type { Clock } from '../watchdog';

export class FakeClock implements Clock {
  private t = 1_700_000_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return { cancel: () => (this.timers = this.timers.filter((x) => x.id !== id)) };
  }

  get pending(): number[] {
    return this.timers.map((x) => x.at - this.t).sort((a, b) => a - b);
  }

  /** Moves time on, running each timer that falls due (and letting promises settle after each). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await settle(8);
    }
    this.t = end;
    await settle();
  }
}

/** Lets pending promise chains, immediates and file I/O (the thread pool) run: a few real milliseconds a round. */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setTimeout(r, 3));
}

type Cb = (x?: unknown) => void;

export class FakeInformer<T extends { metadata?: { name?: string } }> implements Informer<T> {
  readonly cbs = new Map<string, Cb[]>();
  readonly items = new Map<string, T>();
  starts = 0;
  stops = 0;
  running = false;
  /** What the next start() does: connect and sync, or fail with this error. */
  nextStartError: unknown;

  readonly on = ((event: string, cb: Cb): void => {
    this.cbs.set(event, [...(this.cbs.get(event) ?? []), cb]);
  }) as Informer<T>['on'];

  emit(event: string, x?: unknown): void {
    for (const cb of this.cbs.get(event) ?? []) cb(x);
  }

  async start(): Promise<void> {
    this.starts++;
    if (this.nextStartError !== undefined) {
      const err = this.nextStartError;
      this.nextStartError = undefined;
      this.emit('error', err);
      throw err;
    }
    this.running = true;
    this.emit('connect');
    for (const item of this.items.values()) this.emit('add', item);
    this.emit('synced');
  }

  async stop(): Promise<void> {
    this.stops++;
    this.running = false;
  }

  list(): T[] {
    return [...this.items.values()];
  }

  /** The API server's side: an object changed. */
  put(obj: T): void {
    const had = this.items.has(obj.metadata!.name!);
    this.items.set(obj.metadata!.name!, obj);
    if (this.running) this.emit(had ? 'update' : 'add', obj);
  }

  remove(name: string): void {
    const obj = this.items.get(name);
    this.items.delete(name);
    if (obj && this.running) this.emit('delete', obj);
  }

  /** The watch fails (not a 410): ListWatch stops. */
  fail(err: unknown): void {
    this.running = false;
    this.emit('error', err);
  }
}

export class FakeKube implements KubeApi {
  node: NodeObject;
  readonly configMaps = new Map<string, ConfigMapObject>();
  readonly events: EventSpec[] = [];
  readonly calls: string[] = [];
  readonly statusApplies: { cache: string; node: string; entries: readonly object[] }[] = [];
  readonly nodeInf = new FakeInformer<NodeObject>();
  readonly cmInfs = new Map<string, FakeInformer<ConfigMapObject>>();
  readonly cacheInf = new FakeInformer<CustomObject>();
  failPatches = 0;

  constructor(name: string, others: NodeObject[] = []) {
    this.node = { metadata: { name, labels: { 'kubernetes.io/hostname': name }, annotations: {} }, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    this.others = others;
  }

  others: NodeObject[];

  async getNode(name: string): Promise<NodeObject> {
    this.calls.push(`get node ${name}`);
    return structuredClone(name === this.node.metadata?.name ? this.node : this.others.find((n) => n.metadata?.name === name)!);
  }

  async listNodes(): Promise<NodeObject[]> {
    this.calls.push('list nodes');
    return structuredClone([this.node, ...this.others]);
  }

  private target(name: string): NodeObject {
    return name === this.node.metadata?.name ? this.node : this.others.find((n) => n.metadata?.name === name)!;
  }

  async patchNodeStatus(name: string, patch: object): Promise<void> {
    this.calls.push(`patch status ${name}`);
    if (this.failPatches > 0) {
      this.failPatches--;
      throw Object.assign(new Error('apiserver down'), { code: 503 });
    }
    const node = this.target(name);
    const conds = node.status?.conditions ?? [];
    for (const c of (patch as { status: { conditions: (Record<string, string> & { type: string; status: string })[] } }).status.conditions) {
      const rest = conds.filter((x) => x.type !== c.type);
      node.status = { conditions: c.$patch === 'delete' ? rest : [...rest, { ...c }] };
      conds.splice(0, conds.length, ...(node.status.conditions ?? []));
    }
    if (node === this.node) this.nodeInf.put(structuredClone(node));
  }

  async patchNodeMetadata(name: string, patch: MetadataPatch): Promise<void> {
    this.calls.push(`patch node ${name}`);
    if (this.failPatches > 0) {
      this.failPatches--;
      throw Object.assign(new Error('apiserver down'), { code: 503 });
    }
    const node = this.target(name);
    const meta = (node.metadata ??= {});
    for (const key of ['labels', 'annotations'] as const) {
      const p = patch[key];
      if (!p) continue;
      const cur = (meta[key] ??= {});
      for (const [k, v] of Object.entries(p)) if (v === null) delete cur[k];
      else cur[k] = v;
    }
    if (node === this.node) this.nodeInf.put(structuredClone(node));
  }

  async nodeEvent(_node: NodeObject, event: EventSpec): Promise<void> {
    this.calls.push(`event ${event.reason}`);
    this.events.push(event);
  }

  async getConfigMap(namespace: string, name: string): Promise<ConfigMapObject | undefined> {
    this.calls.push(`get configmap ${name}`);
    return this.configMaps.get(`${namespace}/${name}`);
  }

  async annotateConfigMap(namespace: string, name: string, annotations: Record<string, string | null>): Promise<boolean> {
    this.calls.push(`patch configmap ${name}`);
    const cm = this.configMaps.get(`${namespace}/${name}`);
    if (!cm) return false;
    const cur = { ...(cm.metadata?.annotations ?? {}) };
    for (const [k, v] of Object.entries(annotations)) if (v === null) delete cur[k];
    else cur[k] = v;
    const next = { ...cm, metadata: { ...cm.metadata, annotations: cur } };
    this.configMaps.set(`${namespace}/${name}`, next);
    this.cmInfs.get(`${namespace}/${name}`)?.put(next);
    return true;
  }

  async applyImageCacheStatus(cache: string, node: string, entries: readonly object[]): Promise<void> {
    this.calls.push(`apply status ${cache}`);
    this.statusApplies.push({ cache, node, entries });
    const obj = this.cacheInf.items.get(cache);
    if (obj) {
      const others = (((obj.status as { nodes?: { node: string }[] } | undefined)?.nodes ?? []) as { node: string }[]).filter((e) => e.node !== node);
      this.cacheInf.put({ ...obj, status: { nodes: [...others, ...entries] } });
    }
  }

  nodeInformer(): Informer<NodeObject> {
    return this.nodeInf;
  }

  configMapInformer(namespace: string, name: string): Informer<ConfigMapObject> {
    const key = `${namespace}/${name}`;
    let inf = this.cmInfs.get(key);
    if (!inf) {
      inf = new FakeInformer<ConfigMapObject>();
      const cm = this.configMaps.get(key);
      if (cm) inf.items.set(name, cm);
      this.cmInfs.set(key, inf);
    }
    return inf;
  }

  imageCacheInformer(): Informer<CustomObject> {
    return this.cacheInf;
  }

  /** The test changes a ConfigMap (API and informer). */
  setConfigMap(namespace: string, name: string, data: Record<string, string> | undefined): void {
    const key = `${namespace}/${name}`;
    if (data === undefined) {
      this.configMaps.delete(key);
      this.cmInfs.get(key)?.remove(name);
      return;
    }
    const cm = { metadata: { name, namespace }, data };
    this.configMaps.set(key, cm);
    this.cmInfs.get(key)?.put(cm);
  }
}

export function readyStatus(ready = true, handlers = ['runc', 'crun']): StatusResponse {
  return {
    status: {
      conditions: [
        { type: 'RuntimeReady', status: ready, reason: ready ? '' : 'RuntimeBinaryMissing', message: '' },
        { type: 'NetworkReady', status: true, reason: '', message: '' },
      ],
    },
    info: {},
    runtimeHandlers: [{ name: '', features: { recursiveReadOnlyMounts: true, userNamespaces: true } }, ...handlers.map((name) => ({ name, features: { recursiveReadOnlyMounts: true, userNamespaces: true } }))],
    features: undefined,
  };
}

export class FakeRuntime implements KrillRuntime {
  up = true;
  statusResponse = readyStatus();
  /** Validates a reload: returns an error message to refuse it. */
  validate: () => string | undefined = () => undefined;
  reloads = 0;
  needsRestart: string[] = [];
  readonly images = new Map<string, { id: string; digest: string }>();
  /** What the registry holds: image → manifest digest. */
  readonly registry = new Map<string, string>();
  readonly pulls: string[] = [];

  async status(): Promise<StatusResponse> {
    if (!this.up) throw new Error('14 UNAVAILABLE: connect ECONNREFUSED');
    return this.statusResponse;
  }

  async version(): Promise<VersionResponse> {
    if (!this.up) throw new Error('14 UNAVAILABLE: connect ECONNREFUSED');
    return { version: '0.1.0', runtimeName: 'krill', runtimeVersion: '0.1.0', runtimeApiVersion: 'v1' };
  }

  async pullImage(image: string): Promise<string> {
    this.pulls.push(image);
    const digest = this.registry.get(image);
    if (!digest) throw new Error(`${image}: not found`);
    this.images.set(image, { id: `sha256:id-${digest}`, digest });
    return `sha256:id-${digest}`;
  }

  async imageStatus(image: string): Promise<Image | undefined> {
    const held = this.images.get(image);
    if (!held) return undefined;
    const repo = image.replace(/:[^/:]+$/, '');
    return { id: held.id, repoTags: [image], repoDigests: [`${repo}@${held.digest}`], size: 1n, uid: undefined, username: '', spec: undefined, pinned: false };
  }

  async reload(): Promise<ReloadResult> {
    if (!this.up) throw new ReloadError('unavailable', '14 UNAVAILABLE');
    const problem = this.validate();
    if (problem) throw new ReloadError('rejected', problem);
    this.reloads++;
    return { hash: `hash-${this.reloads}`, applied: [], needsRestart: this.needsRestart };
  }

  close(): void {}
}
