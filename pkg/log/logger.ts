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

/** Marks the pino root of a createLogger() tree (the prototype of each of its loggers). */
const TREE_ROOT = Symbol('krill.logger.root');

/**
 * Each logger is a pino child of the tree's root, and pino makes a child by
 * Object.create(parent): unless a logger is given a level of its own, its log
 * methods are the root's, through the prototype, so that setLogLevel on the
 * root reaches every logger made before or after at no cost per logger.
 * `fixedLevel`: a level a child was given explicitly; it and its children keep it.
 */
function withBindings(root: pino.Logger, bindings: Bindings, fixedLevel?: string): Logger {
  const logger = root.child(bindings);
  boundKeys.set(logger, new Set(Object.keys(bindings)));
  if (fixedLevel !== undefined) logger.level = fixedLevel;
  const child = (more: Bindings, options?: pino.ChildLoggerOptions): Logger => withBindings(root, { ...bindings, ...more }, options?.level ?? fixedLevel);
  Object.defineProperty(logger, 'child', { value: child, writable: true, configurable: true });
  return logger;
}

/**
 * Changes the level of `log`'s whole tree: every logger its createLogger()
 * made, before and after, but those given a level of their own.
 */
export function setLogLevel(log: Logger, level: LogLevel): void {
  const root = Object.getPrototypeOf(log) as (pino.Logger & { [TREE_ROOT]?: true }) | null;
  if (root?.[TREE_ROOT]) root.level = level;
  else log.level = level;
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
  Object.defineProperty(root, TREE_ROOT, { value: true });
  return withBindings(root, { component: 'krilld' });
}

/** A logger that drops everything (unit tests, one-shot commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
