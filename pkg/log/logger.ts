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

function withBindings(root: pino.Logger, bindings: Bindings): Logger {
  const logger = root.child(bindings);
  boundKeys.set(logger, new Set(Object.keys(bindings)));
  const child = (more: Bindings, options?: pino.ChildLoggerOptions): Logger => {
    const merged = withBindings(root, { ...bindings, ...more });
    if (options?.level) merged.level = options.level;
    else merged.level = logger.level;
    return merged;
  };
  Object.defineProperty(logger, 'child', { value: child, writable: true, configurable: true });
  return logger;
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
  return withBindings(root, { component: 'krilld' });
}

/** A logger that drops everything (unit tests, one-shot commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
