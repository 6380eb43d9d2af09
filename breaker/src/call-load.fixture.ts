import type { BreakerTransition, SharedCircuitBreaker } from './shared-circuit-breaker';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Steady concurrent calls through every replica of one breaker, to a
 * dependency the test breaks and heals, with a count of the calls that
 * reached it while it was failing and every transition each replica made.
 * Stops by itself after `limitMs`.
 */
export class CallLoad {
  /** Whether the dependency fails now. */
  failing = false;
  /** Calls that reached the dependency while it was failing. */
  reachedFailing = 0;
  calls = 0;
  readonly #transitions = new Map<SharedCircuitBreaker, BreakerTransition[]>();
  readonly #loops: Promise<void>[] = [];
  #running = false;

  constructor(
    readonly breakers: readonly SharedCircuitBreaker[],
    private readonly settings: { perReplica?: number; pauseMs?: number; limitMs?: number } = {},
  ) {
    for (const breaker of breakers) {
      const seen: BreakerTransition[] = [];
      this.#transitions.set(breaker, seen);
      breaker.onTransition((transition) => seen.push(transition));
    }
  }

  start(): this {
    const { perReplica = 2, pauseMs = 5, limitMs = 90_000 } = this.settings;
    this.#running = true;
    const until = performance.now() + limitMs;
    for (const breaker of this.breakers) {
      for (let i = 0; i < perReplica; i += 1) {
        this.#loops.push(
          (async () => {
            while (this.#running && performance.now() < until) {
              this.calls += 1;
              await breaker.execute(() => this.#dependency()).catch(() => undefined);
              await sleep(pauseMs);
            }
          })(),
        );
      }
    }
    return this;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** How many times `breaker` went from closed to open (shared or local). */
  opensOf(breaker: SharedCircuitBreaker): number {
    return (this.#transitions.get(breaker) ?? []).filter(
      ({ from, to }) => from === 'closed' && to === 'open',
    ).length;
  }

  #dependency(): Promise<string> {
    if (!this.failing) return Promise.resolve('ok');
    this.reachedFailing += 1;
    return Promise.reject(new Error('dependency down'));
  }
}
