// Structured logs: one JSON object a line on standard output (pino). Lines
// about a request carry its method and the IDs it names (see pkg/server).
//
// Every key appears once in a line: pino appends a child's bindings to its
// parent's, so a child binding a key its parent has (component, say) would
// write it twice. Children are therefore made from the root with the
// parent's bindings merged with their own, the child's winning.
import pino from 'pino';
import type { LogLevel } from '../config/config';

export type Logger = pino.Logger;

type Bindings = pino.Bindings;

function withBindings(root: pino.Logger, bindings: Bindings): Logger {
  const logger = root.child(bindings);
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
    },
    destination,
  );
  return withBindings(root, { component: 'krilld' });
}

/** A logger that drops everything (unit tests, one-shot commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
