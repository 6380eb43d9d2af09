import type { BreakerKeys } from './breaker-keys';
import type { ConsecutiveTrip, OpenSettings, QuorumVote, RateTrip } from './breaker-options';
import {
  INITIAL_STATE,
  type BreakerStateName,
  type ScriptReply,
  type SharedBreakerState,
  type StateMessage,
  type Term,
} from './breaker-state';
import type {
  BreakerStore,
  BucketCounts,
  ChannelSubscription,
  OutcomeRun,
  ProbeRelease,
} from './breaker-store';
import type { StoreReason } from './transition-reason';

export interface MemoryBreakerStoreOptions {
  /** The store's clock, in epoch milliseconds (the Redis store's is Redis's `TIME`). */
  now?: () => number;
  /** The budget the breaker gives each operation; the memory store answers at once. */
  operationTimeoutMs?: number;
}

/** The stored part of a state: what the Redis hash holds (no lease). */
type Stored = Omit<SharedBreakerState, 'probeLeaseUntil' | 'probeOwner'>;

interface Lease {
  owner: string;
  expiresAt: number;
}

interface Window {
  counts: Map<string, number>;
  expiresAt: number;
}

/** Extra fields of a reply, beside the state and the time. */
type ReplyExtra = Omit<ScriptReply, 'state' | 'now'>;

/**
 * A {@link BreakerStore} in this process's memory, with exactly the rules of
 * the Redis store's scripts (breaker-scripts.ts), line for line; the store
 * contract tests run the same cases on both. Every breaker built on one
 * instance shares its state, as replicas sharing one Redis do, so the state
 * machine's tests need no Redis. Changes are announced to subscribers in the
 * order they were made, after the operation that made them returns.
 *
 * {@link MemoryBreakerStore.setAvailable} takes it away and brings it back,
 * as a Redis outage would: operations reject, subscriptions drop, then come
 * back.
 */
export class MemoryBreakerStore implements BreakerStore {
  readonly operationTimeoutMs: number;
  readonly #now: () => number;
  readonly #hashes = new Map<string, Stored>();
  readonly #windows = new Map<string, Window>();
  readonly #leases = new Map<string, Lease>();
  /** Per breaker: each replica whose own breaker tripped, and the time of its last vote (quorum). */
  readonly #voters = new Map<string, Map<string, number>>();
  /** Why each breaker's state last changed, and the operator's words (the hash's change fields). */
  readonly #changes = new Map<string, { reason: StoreReason; note: string }>();
  readonly #channels = new Map<string, Set<ChannelSubscription>>();
  #available = true;
  #closed = false;

  constructor({ now = Date.now, operationTimeoutMs = 100 }: MemoryBreakerStoreOptions = {}) {
    this.#now = now;
    this.operationTimeoutMs = operationTimeoutMs;
  }

  /** Takes the store away (operations reject, subscriptions drop) or brings it back. */
  setAvailable(available: boolean): void {
    if (available === this.#available) return;
    this.#available = available;
    for (const subscriptions of this.#channels.values())
      for (const subscription of subscriptions)
        queueMicrotask(() => (available ? subscription.onSubscribed?.() : subscription.onLost?.()));
  }

  /**
   * Restarts the store without persistence: every breaker's state is
   * forgotten, and subscriptions drop and come back, as with a Redis restart.
   */
  clear(): void {
    this.setAvailable(false);
    this.#hashes.clear();
    this.#windows.clear();
    this.#leases.clear();
    this.#voters.clear();
    this.#changes.clear();
    this.setAvailable(true);
  }

  ready(): Promise<void> {
    return this.#available
      ? Promise.resolve()
      : Promise.reject(new Error('the memory store is unavailable'));
  }

  subscribe(channel: string, subscription: ChannelSubscription): () => void {
    let subscriptions = this.#channels.get(channel);
    if (!subscriptions) {
      subscriptions = new Set();
      this.#channels.set(channel, subscriptions);
    }
    subscriptions.add(subscription);
    if (this.#available) queueMicrotask(() => subscription.onSubscribed?.());
    const current = subscriptions;
    return () => {
      current.delete(subscription);
    };
  }

  read(keys: BreakerKeys): Promise<ScriptReply> {
    return this.#run(keys, (now) => this.#reply(keys, this.#load(keys), now));
  }

  recordConsecutive(
    keys: BreakerKeys,
    term: Term,
    runs: readonly OutcomeRun[],
    trip: ConsecutiveTrip,
    open: OpenSettings,
    vote?: QuorumVote,
  ): Promise<ScriptReply> {
    return this.#run(keys, (now) => {
      const s = this.#load(keys);
      if (!sameTerm(s, term)) return this.#reply(keys, s, now, { stale: true });
      const before = s.failures;
      const quorum = this.#quorate(keys, now, vote);
      for (const run of runs) {
        if (run.kind === 'success') {
          s.failures = 0;
          continue;
        }
        s.failures += run.count;
        if (s.failures >= trip.threshold && quorum) {
          this.#open(keys, s, now, open);
          return this.#transition(keys, s, now, 'closed', 'failure threshold reached');
        }
      }
      if (s.failures === before) return this.#reply(keys, s, now);
      // Counts are announced: replicas write a success only while they know of a count to reset.
      this.#commit(keys, s, now, 'closed', 'outcomes recorded');
      return this.#reply(keys, s, now);
    });
  }

  recordRate(
    keys: BreakerKeys,
    term: Term,
    buckets: readonly BucketCounts[],
    trip: RateTrip,
    settleMs: number,
    open: OpenSettings,
    vote?: QuorumVote,
  ): Promise<ScriptReply> {
    return this.#run(keys, (now) => {
      const s = this.#load(keys);
      if (!sameTerm(s, term)) return this.#reply(keys, s, now, { stale: true });
      const { bucketMs, buckets: width, minCalls, thresholdPpm } = trip;
      const settle = Math.ceil(settleMs);
      const lastSettled = Math.floor((now - settle) / bucketMs) - 1;
      // The clock went back (a failover to a node whose clock is behind): decide from here.
      if (s.decidedBucket > lastSettled) s.decidedBucket = lastSettled;
      const first = Math.max(s.decidedBucket + 1, lastSettled - width + 1);
      const oldestUseful = first - width + 1;

      const window = this.#window(keys, now);
      for (const { bucket, successes, failures } of buckets) {
        if (bucket < oldestUseful) continue;
        if (successes > 0) increment(window.counts, `s${bucket}`, successes);
        if (failures > 0) increment(window.counts, `f${bucket}`, failures);
      }
      const quorum = this.#quorate(keys, now, vote);
      const successes = new Map<number, number>();
      const failures = new Map<number, number>();
      for (const [field, count] of window.counts) {
        const bucket = Number(field.slice(1));
        if (bucket < oldestUseful) window.counts.delete(field);
        else (field.startsWith('s') ? successes : failures).set(bucket, count);
      }

      const before = { calls: s.calls, failures: s.failures, decided: s.decidedBucket };
      for (let bucket = first; bucket <= lastSettled; bucket += 1) {
        let calls = 0;
        let failed = 0;
        for (let b = bucket - width + 1; b <= bucket; b += 1) {
          calls += (successes.get(b) ?? 0) + (failures.get(b) ?? 0);
          failed += failures.get(b) ?? 0;
        }
        s.calls = calls;
        s.failures = failed;
        s.decidedBucket = bucket;
        if (calls >= minCalls && failed * 1_000_000 >= thresholdPpm * calls && quorum) {
          this.#open(keys, s, now, open);
          return this.#transition(keys, s, now, 'closed', 'failure rate reached');
        }
      }

      // While the window holds outcomes, every bucket to come may change the decision.
      let decideAt = 0;
      if (window.counts.size > 0) {
        window.expiresAt = now + (width + 2) * bucketMs + settle;
        decideAt = (Math.max(s.decidedBucket, lastSettled) + 2) * bucketMs + settle;
      } else {
        this.#windows.delete(keys.window);
      }
      if (
        s.calls !== before.calls ||
        s.failures !== before.failures ||
        s.decidedBucket !== before.decided
      ) {
        // Window counts change on every flush of every replica: saved, not announced.
        this.#commit(keys, s, now, 'closed', 'window decided', { quiet: true });
      }
      return this.#reply(keys, s, now, { decideAt });
    });
  }

  acquireProbe(keys: BreakerKeys, token: string, leaseMs: number): Promise<ScriptReply> {
    return this.#run(keys, (now) => {
      const s = this.#load(keys);
      const from = s.state;
      if (s.state === 'open' && now >= s.halfOpenAt) s.state = 'half_open';
      else if (!(s.state === 'half_open' && this.#lease(keys, now) === undefined))
        return this.#reply(keys, s, now, { granted: false });
      this.#leases.set(keys.probe, { owner: token, expiresAt: now + leaseMs });
      const message = this.#commit(
        keys,
        s,
        now,
        from,
        from === 'half_open' ? 'probe lease free; new probe' : 'open period over',
      );
      return this.#reply(keys, s, now, { granted: true, ...transitionOf(message) });
    });
  }

  releaseProbe(
    keys: BreakerKeys,
    token: string,
    release: ProbeRelease,
    open: OpenSettings,
  ): Promise<ScriptReply> {
    return this.#run(keys, (now) => {
      const s = this.#load(keys);
      if (s.state !== 'half_open' || this.#lease(keys, now)?.owner !== token)
        return this.#reply(keys, s, now, { stale: true });
      if (release === 'abandon') {
        this.#leases.delete(keys.probe);
        const message = this.#commit(keys, s, now, 'half_open', 'probe abandoned');
        return this.#reply(keys, s, now, { reason: message.reason });
      }
      if (release === 'success') this.#close(keys, s);
      else this.#open(keys, s, now, open);
      return this.#transition(keys, s, now, 'half_open', `probe ${release}`);
    });
  }

  force(
    keys: BreakerKeys,
    target: 'isolated' | 'closed',
    note = '',
    forMs = 0,
  ): Promise<ScriptReply> {
    return this.#run(keys, (now) => {
      const s = this.#load(keys);
      const from = s.state;
      let reason: StoreReason = 'reset by an operator';
      if (target === 'isolated') {
        s.state = 'isolated';
        s.isolatedUntil = forMs > 0 ? now + Math.ceil(forMs) : 0;
        reason = 'isolated by an operator';
        this.#leases.delete(keys.probe);
      } else {
        this.#close(keys, s);
      }
      const message = this.#commit(keys, s, now, from, reason, { newTerm: true, note });
      return this.#reply(keys, s, now, transitionOf(message));
    });
  }

  endIsolation(keys: BreakerKeys): Promise<ScriptReply> {
    return this.#run(keys, (now) => {
      const s = this.#load(keys);
      if (s.state !== 'isolated' || s.isolatedUntil === 0 || now < s.isolatedUntil)
        return this.#reply(keys, s, now);
      this.#close(keys, s);
      return this.#transition(keys, s, now, 'isolated', 'isolation expired', { newTerm: true });
    });
  }

  /** Ends every subscription; operations reject from now on, as on a closed connection. */
  close(): Promise<void> {
    this.#channels.clear();
    this.#closed = true;
    return Promise.resolve();
  }

  /** Runs one operation atomically (nothing else runs meanwhile in this process). */
  #run(keys: BreakerKeys, operation: (now: number) => ScriptReply): Promise<ScriptReply> {
    if (this.#closed) return Promise.reject(new Error('the memory store is closed'));
    if (!this.#available)
      return Promise.reject(new Error(`the memory store is unavailable (${keys.state})`));
    // An operation that throws rejects, as a failed script does.
    return new Promise((resolve) => {
      resolve(operation(Math.floor(this.#now())));
    });
  }

  #load(keys: BreakerKeys): Stored {
    const stored = this.#hashes.get(keys.state);
    if (stored) return { ...stored };
    // The lease fields come along unused: the lease is kept apart, as in Redis.
    const empty: Stored = { ...INITIAL_STATE };
    return empty;
  }

  #lease(keys: BreakerKeys, now: number): Lease | undefined {
    const lease = this.#leases.get(keys.probe);
    // Redis keeps a key until its expiry time has passed, not at it.
    if (lease && lease.expiresAt < now) {
      this.#leases.delete(keys.probe);
      return undefined;
    }
    return lease;
  }

  #window(keys: BreakerKeys, now: number): Window {
    let window = this.#windows.get(keys.window);
    if (!window || window.expiresAt < now) {
      window = { counts: new Map(), expiresAt: Infinity };
      this.#windows.set(keys.window, window);
    }
    return window;
  }

  /** The state as replicas see it: the stored one, plus who holds the probe lease and until when. */
  #view(keys: BreakerKeys, s: Stored, now: number): SharedBreakerState {
    const lease = s.state === 'half_open' ? this.#lease(keys, now) : undefined;
    return {
      ...s,
      probeLeaseUntil: lease ? lease.expiresAt : 0,
      probeOwner: lease ? lease.owner : '',
    };
  }

  /** Every reply says why the state last changed, so a reply that comes first still tells it. */
  #reply(keys: BreakerKeys, s: Stored, now: number, extra: ReplyExtra = {}): ScriptReply {
    const change = this.#changes.get(keys.state);
    const why =
      extra.reason === undefined && change
        ? { reason: change.reason, ...(change.note === '' ? {} : { note: change.note }) }
        : {};
    return { ...extra, ...why, state: this.#view(keys, s, now), now };
  }

  /**
   * Saves a change: a new version and write time always, a new epoch when
   * the state changed (or when `newTerm` asks for one), and a message to
   * subscribers unless the change is quiet.
   */
  #commit(
    keys: BreakerKeys,
    s: Stored,
    now: number,
    from: BreakerStateName,
    reason: StoreReason,
    { quiet = false, newTerm = false, note = '' } = {},
  ): StateMessage {
    if (s.incarnation === 0) s.incarnation = now;
    s.version += 1;
    s.writtenAt = Math.max(Math.floor(this.#now() * 1_000), s.writtenAt + 1);
    if (from !== s.state || newTerm) {
      s.epoch += 1;
      s.changedAt = now;
      this.#changes.set(keys.state, { reason, note });
    }
    this.#hashes.set(keys.state, { ...s });
    const message: StateMessage = {
      state: this.#view(keys, s, now),
      now,
      reason,
      ...(from === s.state ? {} : { from }),
      ...(note === '' ? {} : { note }),
    };
    if (!quiet) this.#publish(keys.channel, message);
    return message;
  }

  #transition(
    keys: BreakerKeys,
    s: Stored,
    now: number,
    from: BreakerStateName,
    reason: StoreReason,
    { newTerm = false } = {},
  ): ScriptReply {
    const message = this.#commit(keys, s, now, from, reason, { newTerm });
    return this.#reply(keys, s, now, transitionOf(message));
  }

  /**
   * The quorum: notes that the voting replica tripped on its own outcomes now
   * (when it says so), forgets replicas whose last trip is older than the
   * window, and answers whether enough distinct replicas are left. No vote,
   * or a quorum of 1, is no quorum: always true.
   */
  #quorate(keys: BreakerKeys, now: number, vote: QuorumVote | undefined): boolean {
    if (vote === undefined || vote.replicas <= 1) return true;
    let voters = this.#voters.get(keys.voters);
    if (!voters) {
      voters = new Map();
      this.#voters.set(keys.voters, voters);
    }
    if (vote.tripped) voters.set(vote.replica, now);
    for (const [replica, at] of voters) if (at < now - vote.windowMs) voters.delete(replica);
    return voters.size >= vote.replicas;
  }

  /** Opens the breaker; each opening since the last close lasts longer, up to the cap. */
  #open(keys: BreakerKeys, s: Stored, now: number, open: OpenSettings): void {
    s.openCount += 1;
    const period = Math.min(open.openMs * open.backoffFactor ** (s.openCount - 1), open.maxOpenMs);
    s.state = 'open';
    s.openedAt = now;
    s.halfOpenAt = now + Math.floor(period);
    s.isolatedUntil = 0;
    this.#windows.delete(keys.window);
    this.#leases.delete(keys.probe);
    this.#voters.delete(keys.voters);
  }

  #close(keys: BreakerKeys, s: Stored): void {
    s.state = 'closed';
    s.failures = 0;
    s.calls = 0;
    s.openCount = 0;
    s.openedAt = 0;
    s.halfOpenAt = 0;
    s.isolatedUntil = 0;
    this.#windows.delete(keys.window);
    this.#leases.delete(keys.probe);
    this.#voters.delete(keys.voters);
  }

  /** Delivers to every subscriber, in order, once the operation has returned; a copy each. */
  #publish(channel: string, message: StateMessage): void {
    const subscriptions = this.#channels.get(channel);
    if (!subscriptions || !this.#available) return;
    for (const subscription of [...subscriptions])
      queueMicrotask(() => {
        subscription.onMessage(structuredClone(message));
      });
  }
}

/**
 * Outcomes belong to the term (incarnation, epoch) in which their calls
 * started. A call started before the state existed (incarnation 0) counts
 * in the incarnation it grew into; one from another incarnation never does.
 */
const sameTerm = (s: Stored, term: Term): boolean =>
  s.state === 'closed' &&
  s.epoch === term.epoch &&
  (term.incarnation === 0 || term.incarnation === s.incarnation);

const transitionOf = (message: StateMessage): ReplyExtra => ({
  ...(message.from === undefined ? {} : { from: message.from }),
  ...(message.reason === undefined ? {} : { reason: message.reason }),
  ...(message.note === undefined ? {} : { note: message.note }),
});

function increment(counts: Map<string, number>, field: string, by: number): void {
  counts.set(field, (counts.get(field) ?? 0) + by);
}
