// Stop signals as images write them (STOPSIGNAL SIGQUIT, QUIT, 3, SIGRTMIN+3)
// turned into a name and the Linux signal number (x86, arm, s390, riscv, ppc).
import { Signal as CriSignal, signalFromJSON, signalToJSON } from '../../api/runtime/v1/api';
import { invalidArgument } from '../errors/errors';

export interface Signal {
  /** Canonical name, e.g. "SIGTERM" or "SIGRTMIN+3". */
  name: string;
  number: number;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** Aliases map to one canonical name each. */
const CANONICAL: Record<number, string> = {};
for (const [name, n] of Object.entries(SIGNALS)) {
  if (!(n in CANONICAL) && !['SIGIOT', 'SIGCLD', 'SIGPOLL'].includes(name)) CANONICAL[n] = name;
}

export const SIGTERM: Signal = { name: 'SIGTERM', number: 15 };

function nameOf(n: number): string {
  if (CANONICAL[n]) return CANONICAL[n];
  if (n === SIGRTMIN) return 'SIGRTMIN';
  if (n === SIGRTMAX) return 'SIGRTMAX';
  return n - SIGRTMIN <= SIGRTMAX - n ? `SIGRTMIN+${n - SIGRTMIN}` : `SIGRTMAX-${SIGRTMAX - n}`;
}

/** Parses a signal by name (with or without SIG, any case) or number; undefined if it is none. */
export function parseSignal(text: string): Signal | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n >= 1 && n <= SIGRTMAX && n !== 32 && n !== 33 ? { name: nameOf(n), number: n } : undefined;
  }
  let upper = t.toUpperCase();
  if (!upper.startsWith('SIG')) upper = `SIG${upper}`;
  const known = SIGNALS[upper];
  if (known !== undefined) return { name: nameOf(known), number: known };
  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(upper);
  if (!rt) return undefined;
  const base = rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX;
  const offset = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === '+' ? 1 : -1);
  const n = base + offset;
  return n >= SIGRTMIN && n <= SIGRTMAX ? { name: nameOf(n), number: n } : undefined;
}

/** The image's STOPSIGNAL, SIGTERM when it has none. */
export function imageStopSignal(stopSignal: string | undefined): Signal {
  if (stopSignal === undefined || stopSignal.trim() === '') return SIGTERM;
  const sig = parseSignal(stopSignal);
  if (!sig) throw invalidArgument(`image config StopSignal ${JSON.stringify(stopSignal)} is not a signal`);
  return sig;
}

/** The signal a CRI ContainerConfig.stop_signal names (SIGNAL_SIGRTMINPLUS3...); undefined for "the runtime's choice". */
export function criStopSignal(value: CriSignal): Signal | undefined {
  if (value === CriSignal.SIGNAL_RUNTIME_DEFAULT) return undefined;
  const name = signalToJSON(value).replace(/^SIGNAL_/, '').replace(/PLUS(\d+)$/, '+$1').replace(/MINUS(\d+)$/, '-$1');
  const sig = parseSignal(name);
  if (!sig) throw invalidArgument(`config.stop_signal ${value} is not a signal`);
  return sig;
}

/** A signal as the CRI names it, for ContainerStatus.stop_signal. */
export function toCriSignal(sig: Signal): CriSignal {
  const v = signalFromJSON(`SIGNAL_${sig.name.replace('+', 'PLUS').replace('-', 'MINUS')}`);
  return v === CriSignal.UNRECOGNIZED ? CriSignal.SIGNAL_RUNTIME_DEFAULT : v;
}
