// Structured logs: one JSON object a line on standard output (pino). Lines
// about a request carry its method and the IDs it names (see pkg/server).
import pino from 'pino';
import type { LogLevel } from '../config/config';

export type Logger = pino.Logger;

export function createLogger(level: LogLevel, destination: pino.DestinationStream = pino.destination({ fd: 1, sync: false })): Logger {
  return pino(
    {
      level,
      base: { component: 'krilld' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}

/** A logger that drops everything (unit tests, one-shot commands). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
