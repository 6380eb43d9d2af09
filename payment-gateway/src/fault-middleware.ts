import { CALLER_HEADER, callerIdSchema } from '@cb-lab/contracts';
import { HttpError } from '@cb-lab/shared';
import type { Request, RequestHandler } from 'express';
import type { FaultInjector } from './faults';
import type { FaultOutcome } from './gateway-metrics';

/**
 * Runs `run` after `delayMs`. The timer is unref'd: a delayed request must
 * never be what keeps a stopping process alive (while the server runs, its
 * own handle does that).
 */
function later(delayMs: number, run: () => void): void {
  if (delayMs <= 0) {
    run();
    return;
  }
  setTimeout(run, delayMs).unref();
}

/** The caller the request names in {@link CALLER_HEADER}; undefined when it names none. */
function callerOf(req: Request): string | undefined {
  const header = req.get(CALLER_HEADER);
  if (header === undefined) return undefined;
  const caller = callerIdSchema.safeParse(header);
  if (caller.success) return caller.data;
  throw new HttpError(
    400,
    'invalid_request',
    `${CALLER_HEADER} header: ${caller.error.issues[0]?.message ?? 'expected a replica id'}`,
  );
}

/**
 * Puts the injector's faults in front of the routes it is mounted on: each
 * request is dropped, held, failed or let through (possibly late) as
 * {@link FaultInjector.decide} says for the caller named in
 * {@link CALLER_HEADER} (a malformed name is a 400). `onFault` hears about every request a
 * fault stopped, so charges the business logic never saw can be counted.
 *
 * A request that is delayed goes on even if its caller gives up in the
 * meantime, as with a real slow third party: that is the charge a caller's
 * retry with the same idempotency key must not repeat.
 */
export function injectFaults(
  injector: FaultInjector,
  onFault: (outcome: FaultOutcome) => void = () => undefined,
): RequestHandler {
  return (req, _res, next) => {
    const decision = injector.decide(callerOf(req));
    switch (decision.action) {
      case 'drop':
        onFault('dropped');
        // No status line at all: the caller sees its connection reset, as close to a host
        // that is down as a server that is up can get.
        req.socket.destroy();
        return;
      case 'hold':
        onFault('timed_out');
        // Neither answered nor passed on, and no timer: the request waits until the caller
        // gives up or shutdown closes the connection once its drain timeout is over.
        return;
      case 'fail':
        onFault('faulted');
        later(decision.delayMs, () => {
          next(
            new HttpError(
              decision.status,
              'injected_fault',
              `The gateway failed this request on purpose with ${decision.status} (an injected fault); nothing was charged`,
            ),
          );
        });
        return;
      case 'pass':
        later(decision.delayMs, () => {
          next();
        });
        return;
    }
  };
}
