import { randomUUID } from 'node:crypto';
import type { ProbeRelease } from './breaker-store';

interface Entry {
  phase: 'acquiring' | 'running' | 'finished';
  release: ProbeRelease;
  /** When the token was made (Redis time): a lease taken with it expires by `leaseMs` after. */
  madeAt: number;
  releasing: boolean;
}

/**
 * The probe leases one breaker instance asked for, and what became of each.
 *
 * A lease must never outlive the call it was granted for. Redis may grant
 * one that nobody runs: the acquirer gave up waiting (Redis paused, then ran
 * the queued request), or Redis came back from a snapshot taken while a
 * probe held it. Whenever the shared state shows a lease whose token this
 * instance made, the ledger says what to report for it: nothing while the
 * probe still runs, its verdict when the probe is over, or `abandon` when no
 * call ever ran under it.
 */
export class ProbeLedger {
  readonly #prefix: string;
  readonly #entries = new Map<string, Entry>();
  #sequence = 0;

  constructor(
    replica: string,
    private readonly leaseMs: number,
    private readonly now: () => number,
  ) {
    this.#prefix = `${replica}#${randomUUID().slice(0, 8)}#`;
  }

  /** A token for a new acquisition. */
  newToken(): string {
    this.#prune();
    this.#sequence += 1;
    const token = `${this.#prefix}${this.#sequence}`;
    this.#entries.set(token, {
      phase: 'acquiring',
      release: 'abandon',
      madeAt: this.now(),
      releasing: false,
    });
    return token;
  }

  /** Whether this instance made `token`. */
  owns(token: string): boolean {
    return token.startsWith(this.#prefix);
  }

  /** The lease was granted and the probe runs. */
  running(token: string): void {
    const entry = this.#entries.get(token);
    if (entry) entry.phase = 'running';
  }

  /** The acquisition failed or the probe is over: `release` is what Redis must hear. */
  finished(token: string, release: ProbeRelease): void {
    const entry = this.#entries.get(token);
    if (!entry) return;
    entry.phase = 'finished';
    entry.release = release;
  }

  /** Nothing more to report for `token` (refused, or Redis answered its release). */
  forget(token: string): void {
    this.#entries.delete(token);
  }

  /**
   * Starts a release of `token` and says what to send, or undefined when
   * there is nothing to send now: the probe still runs, a release is on its
   * way, or the token is not this instance's. A token of this instance that
   * it no longer knows is given back.
   */
  startRelease(token: string): ProbeRelease | undefined {
    let entry = this.#entries.get(token);
    if (!entry) {
      if (!this.owns(token)) return undefined;
      entry = { phase: 'finished', release: 'abandon', madeAt: this.now(), releasing: false };
      this.#entries.set(token, entry);
    }
    if (entry.phase !== 'finished' || entry.releasing) return undefined;
    entry.releasing = true;
    return entry.release;
  }

  /** The release did not reach Redis; the next sight of the lease sends it again. */
  releaseFailed(token: string): void {
    const entry = this.#entries.get(token);
    if (entry) entry.releasing = false;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** A lease expires `leaseMs` after it was granted, and no snapshot can bring it back later. */
  #prune(): void {
    const horizon = this.now() - 2 * this.leaseMs;
    for (const [token, entry] of this.#entries) {
      if (entry.phase === 'finished' && !entry.releasing && entry.madeAt < horizon)
        this.#entries.delete(token);
    }
  }
}
