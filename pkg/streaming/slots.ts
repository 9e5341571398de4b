// Session slots per container (exec, attach) and per pod (port-forward):
// a slot is taken when a streaming URL is handed out and given back when
// its session ends or its URL expires unused, so that one client cannot
// pile up sessions (each exec or attach costs a conmon and a helper) on
// one container.
import { KrillError } from '../errors/errors';

export interface Slot {
  /** Gives the slot back; idempotent. */
  release(): void;
}

export class SessionSlots {
  private readonly used = new Map<string, number>();

  constructor(private max: number) {}

  /** The limit from now on (a reload): sessions already open beyond a lower one stay open. */
  setMax(max: number): void {
    this.max = max;
  }

  /** Takes a slot of `key`, or throws ResourceExhausted saying `what` is full. */
  acquire(key: string, what: string): Slot {
    const n = this.used.get(key) ?? 0;
    if (n >= this.max) {
      throw new KrillError('ResourceExhausted', `${what} has ${this.max} streaming sessions open or pending already (streaming.max_sessions_per_container); end one, or wait for unused URLs to expire`);
    }
    this.used.set(key, n + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = (this.used.get(key) ?? 1) - 1;
        if (left > 0) this.used.set(key, left);
        else this.used.delete(key);
      },
    };
  }

  /** Slots of `key` in use. */
  count(key: string): number {
    return this.used.get(key) ?? 0;
  }
}
