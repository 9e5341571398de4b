// For unit tests: the message of the InvalidArgument error a call throws.
import { KrillError } from './errors';

/** Runs `fn` and returns its InvalidArgument message; any other outcome fails the test. */
export function invalidArgumentMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof KrillError && err.code === 'InvalidArgument') return err.message;
    throw err;
  }
  throw new Error('expected an InvalidArgument error');
}
