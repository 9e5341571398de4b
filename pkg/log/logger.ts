// Structured logs: one JSON object a line on standard output (pino). Lines
// about a request carry its method and the IDs it names (see pkg/server).
//
// Every key appears once in a line: pino appends a child's bindings to its
// parent's, so a child binding a key its parent has (component, say) would
// write it twice. Children are therefore made from the root with the
// parent's bindings merged with their own, the child's winning; and a field
// of one call that a binding already carries is left to the binding.
import pino from 'pino';
import type { LogLevel } from '../config/config';

export type Logger = pino.Logger;

type Bindings = pino.Bindings;

const boundKeys = new WeakMap<object, ReadonlySet<string>>();

/** pino's logMethod hook: drops the fields of a call's object that the logger has bound. */
function dropBoundFields(this: pino.Logger, args: Parameters<pino.LogFn>, method: pino.LogFn): void {
  const bound = boundKeys.get(this);
  const first: unknown = args[0];
  if (bound && first !== null && typeof first === 'object' && !(first instanceof Error) && Object.keys(first).some((k) => bound.has(k))) {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(first)) if (!bound.has(k)) copy[k] = v;
    args[0] = copy;
  }
  method.apply(this, args);
}

/**
 * The loggers of one createLogger(), so that setLogLevel reaches the children
 * made before it (pino copies the level into a child when it makes it). Held
 * weakly: a request's logger goes with its request.
 */
interface LevelTree {
  level: pino.LevelWithSilentOrString;
  members: Set<WeakRef<pino.Logger>>;
  gone: FinalizationRegistry<WeakRef<pino.Logger>>;
}

const TREE = Symbol('krill.logger.tree');

/** `fixedLevel`: a level a child was given explicitly; such a child (and its children) keep it. */
function withBindings(root: pino.Logger, bindings: Bindings, tree: LevelTree, fixedLevel?: string): Logger {
  const logger = root.child(bindings);
  boundKeys.set(logger, new Set(Object.keys(bindings)));
  logger.level = fixedLevel ?? tree.level;
  if (fixedLevel === undefined) {
    const ref = new WeakRef(logger);
    tree.members.add(ref);
    tree.gone.register(logger, ref);
  }
  const child = (more: Bindings, options?: pino.ChildLoggerOptions): Logger => withBindings(root, { ...bindings, ...more }, tree, options?.level ?? fixedLevel);
  Object.defineProperty(logger, 'child', { value: child, writable: true, configurable: true });
  Object.defineProperty(logger, TREE, { value: tree });
  return logger;
}

/**
 * Changes the level of `log`'s whole tree (every logger createLogger's root
 * made, before and after), but children given a level of their own.
 */
export function setLogLevel(log: Logger, level: LogLevel): void {
  const tree = (log as Logger & { [TREE]?: LevelTree })[TREE];
  if (!tree) {
    log.level = level;
    return;
  }
  tree.level = level;
  for (const ref of tree.members) {
    const l = ref.deref();
    if (l) l.level = level;
  }
}

export function createLogger(level: LogLevel, destination: pino.DestinationStream = pino.destination({ fd: 1, sync: false })): Logger {
  const root = pino(
    {
      level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
      hooks: { logMethod: dropBoundFields },
    },
    destination,
  );
  const members = new Set<WeakRef<pino.Logger>>();
  const tree: LevelTree = { level, members, gone: new FinalizationRegistry((ref) => members.delete(ref)) };
  return withBindings(root, { component: 'krilld' }, tree);
}

/** A logger that drops everything (unit tests, one-shot commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
