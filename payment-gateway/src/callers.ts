import type { FaultScope } from '@cb-lab/contracts';

/** How long a caller counts as one of the gateway's callers after its last request. */
export const CALLER_MEMORY_MS = 60_000;

/** Most callers remembered at once; the one heard from least recently is forgotten first. */
export const MAX_CALLERS = 256;

/** FNV-1a: a stable order of callers that does not depend on when each was first heard. */
function stableHash(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The callers the gateway has heard from lately, which turns a fault scope
 * into a yes or no for one request. A `share` scope reaches the first
 * ⌈share × n⌉ of the n callers heard in the last minute, ordered by a hash of
 * their id: the same callers for as long as the set of callers stays the same,
 * whichever request arrives first.
 */
export class CallerDirectory {
  // Map order is recency order: a caller heard again is moved to the end.
  readonly #lastHeard = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Notes a request from `caller`. */
  heard(caller: string): void {
    this.#lastHeard.delete(caller);
    this.#lastHeard.set(caller, this.now());
    if (this.#lastHeard.size > MAX_CALLERS) {
      const oldest = this.#lastHeard.keys().next().value;
      if (oldest !== undefined) this.#lastHeard.delete(oldest);
    }
  }

  /** The callers heard from in the last {@link CALLER_MEMORY_MS}, in the order a share picks them. */
  callers(): string[] {
    const since = this.now() - CALLER_MEMORY_MS;
    for (const [caller, at] of this.#lastHeard) {
      if (at >= since) break;
      this.#lastHeard.delete(caller);
    }
    return [...this.#lastHeard.keys()].sort(
      (a, b) => stableHash(a) - stableHash(b) || (a < b ? -1 : 1),
    );
  }

  /** Whether faults limited to `scope` reach a request from `caller` (undefined: it gave no name). */
  reaches(scope: FaultScope | null, caller: string | undefined): boolean {
    if (scope === null) return true;
    if (caller === undefined) return false;
    if ('replicas' in scope) return scope.replicas.includes(caller);
    const callers = this.callers();
    return callers.indexOf(caller) < Math.ceil(scope.share * callers.length);
  }
}
