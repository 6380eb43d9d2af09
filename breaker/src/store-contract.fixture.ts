import { breakerKeys, type BreakerKeys } from './breaker-keys';
import type { ConsecutiveTrip, OpenSettings, QuorumVote, RateTrip } from './breaker-options';
import { termOf, type ScriptReply, type StateMessage } from './breaker-state';
import type { BreakerStore } from './breaker-store';

/*
 * What every BreakerStore must do, decision by decision: the same cases run
 * on the Redis store (its scripts, on a real Redis) and on the memory store,
 * so the state machine's fast unit tests on the memory store stand for what
 * Redis does.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Lets announced changes reach subscribers (a round trip on Redis, a microtask in memory). */
const delivered = () => sleep(30);

const OPEN: OpenSettings = { openMs: 60, maxOpenMs: 500, backoffFactor: 2 };
const THREE: ConsecutiveTrip = { mode: 'consecutive', threshold: 3 };

let names = 0;

export function describeStoreContract(kind: string, makeStore: () => BreakerStore): void {
  describe(`the ${kind} store`, () => {
    let store: BreakerStore;
    let keys: BreakerKeys;
    let heard: StateMessage[];

    beforeEach(async () => {
      store = makeStore();
      keys = breakerKeys(`contract-${process.pid}-${++names}`, '');
      heard = [];
      let subscribed: () => void = () => undefined;
      const ready = new Promise<void>((resolve) => (subscribed = resolve));
      store.subscribe(keys.channel, { onMessage: (m) => heard.push(m), onSubscribed: subscribed });
      await Promise.all([store.ready(), ready]);
    });
    afterEach(() => store.close());

    /** Three consecutive failures in the term of the state read now: the breaker opens. */
    async function open(): Promise<ScriptReply> {
      const { state } = await store.read(keys);
      return store.recordConsecutive(
        keys,
        termOf(state),
        [{ kind: 'failure', count: 3 }],
        THREE,
        OPEN,
      );
    }

    /** Opens the breaker, waits out the open period and takes the probe lease as `token`. */
    async function probing(token = 'prober'): Promise<ScriptReply> {
      await open();
      await sleep(OPEN.openMs + 10);
      return store.acquireProbe(keys, token, 5_000);
    }

    it('reads an empty state as closed, in no incarnation yet', async () => {
      const { state, now } = await store.read(keys);
      expect(state).toMatchObject({ state: 'closed', epoch: 0, version: 0, incarnation: 0 });
      expect(now).toBeGreaterThan(0);
    });

    it('counts consecutive failures, resets them on a success and opens at the threshold', async () => {
      const term = termOf((await store.read(keys)).state);
      const counted = await store.recordConsecutive(
        keys,
        term,
        [{ kind: 'failure', count: 2 }],
        THREE,
        OPEN,
      );
      expect(counted.state).toMatchObject({ state: 'closed', failures: 2, version: 1 });
      expect(counted.state.incarnation).toBe(counted.now);
      expect(counted.from).toBeUndefined();

      const reset = await store.recordConsecutive(
        keys,
        term,
        [
          { kind: 'success', count: 1 },
          { kind: 'failure', count: 2 },
        ],
        THREE,
        OPEN,
      );
      expect(reset.state).toMatchObject({ state: 'closed', failures: 2 });

      const opened = await store.recordConsecutive(
        keys,
        term,
        [{ kind: 'failure', count: 1 }],
        THREE,
        OPEN,
      );
      expect(opened).toMatchObject({ from: 'closed', reason: 'failure threshold reached' });
      expect(opened.state).toMatchObject({ state: 'open', failures: 3, openCount: 1, epoch: 1 });
      expect(opened.state.halfOpenAt).toBe(opened.now + OPEN.openMs);
      expect(opened.state.openedAt).toBe(opened.now);
    });

    it('ignores outcomes of another term', async () => {
      const opened = await open();
      const stale = await store.recordConsecutive(
        keys,
        { incarnation: opened.state.incarnation, epoch: 0 },
        [{ kind: 'failure', count: 9 }],
        THREE,
        OPEN,
      );
      expect(stale.stale).toBe(true);
      expect(stale.state).toEqual({ ...opened.state, probeLeaseUntil: 0, probeOwner: '' });
    });

    it('grants the probe once the open period is over, to one caller only', async () => {
      const opened = await open();
      expect((await store.acquireProbe(keys, 'early', 5_000)).granted).toBe(false);
      await sleep(OPEN.openMs + 10);
      const granted = await store.acquireProbe(keys, 'first', 5_000);
      expect(granted).toMatchObject({ granted: true, from: 'open', reason: 'open period over' });
      expect(granted.state).toMatchObject({ state: 'half_open', probeOwner: 'first' });
      expect(granted.state.epoch).toBe(opened.state.epoch + 1);
      // Redis keeps the lease's TTL in microseconds and reads it back in whole milliseconds.
      expect(granted.state.probeLeaseUntil - granted.now).toBeGreaterThanOrEqual(4_999);
      expect(granted.state.probeLeaseUntil - granted.now).toBeLessThanOrEqual(5_000);
      const second = await store.acquireProbe(keys, 'second', 5_000);
      expect(second.granted).toBe(false);
      expect(second.state.probeOwner).toBe('first');
    });

    it('closes on the holder reporting success, and ignores anyone else', async () => {
      await probing('holder');
      expect((await store.releaseProbe(keys, 'someone else', 'success', OPEN)).stale).toBe(true);
      const closed = await store.releaseProbe(keys, 'holder', 'success', OPEN);
      expect(closed).toMatchObject({ from: 'half_open', reason: 'probe success' });
      expect(closed.state).toMatchObject({
        state: 'closed',
        failures: 0,
        openCount: 0,
        halfOpenAt: 0,
        probeOwner: '',
      });
    });

    it('reopens for a longer period on a failed probe', async () => {
      await probing('holder');
      const reopened = await store.releaseProbe(keys, 'holder', 'failure', OPEN);
      expect(reopened).toMatchObject({ from: 'half_open', reason: 'probe failure' });
      expect(reopened.state).toMatchObject({ state: 'open', openCount: 2 });
      expect(reopened.state.halfOpenAt).toBe(reopened.now + OPEN.openMs * OPEN.backoffFactor);
    });

    it('takes a lease given back, or expired, as free for the next caller', async () => {
      await probing('quitter');
      const abandoned = await store.releaseProbe(keys, 'quitter', 'abandon', OPEN);
      expect(abandoned).toMatchObject({ reason: 'probe abandoned' });
      expect(abandoned.from).toBeUndefined();
      expect(abandoned.state).toMatchObject({ state: 'half_open', probeOwner: '' });
      const next = await store.acquireProbe(keys, 'next', 40);
      expect(next).toMatchObject({ granted: true, reason: 'probe lease free; new probe' });
      await sleep(60);
      expect((await store.read(keys)).state).toMatchObject({ state: 'half_open', probeOwner: '' });
      expect((await store.acquireProbe(keys, 'after expiry', 5_000)).granted).toBe(true);
      expect((await store.releaseProbe(keys, 'next', 'success', OPEN)).stale).toBe(true);
    });

    it('isolates and resets for everyone, a reset starting a new term', async () => {
      await probing('holder');
      const isolated = await store.force(keys, 'isolated', 'maintenance');
      expect(isolated).toMatchObject({
        from: 'half_open',
        reason: 'isolated by an operator',
        note: 'maintenance',
      });
      expect(isolated.state).toMatchObject({ state: 'isolated', probeOwner: '' });
      expect((await store.acquireProbe(keys, 'anyone', 5_000)).granted).toBe(false);
      // Isolating again replaces the words (and the end): no transition, a new term.
      const again = await store.force(keys, 'isolated', 'again');
      expect(again).toMatchObject({ reason: 'isolated by an operator', note: 'again' });
      expect(again.from).toBeUndefined();
      expect(again.state).toMatchObject({ state: 'isolated', isolatedUntil: 0 });
      expect(again.state.epoch).toBe(isolated.state.epoch + 1);

      const reset = await store.force(keys, 'closed', 'back');
      expect(reset).toMatchObject({
        from: 'isolated',
        reason: 'reset by an operator',
        note: 'back',
      });
      expect(reset.state).toMatchObject({ state: 'closed', failures: 0, openCount: 0 });
      const resetAgain = await store.force(keys, 'closed');
      expect(resetAgain.from).toBeUndefined();
      expect(resetAgain.note).toBeUndefined();
      expect(resetAgain.state.epoch).toBe(reset.state.epoch + 1);
    });

    it('decides the failure rate bucket by bucket, once each has settled', async () => {
      // A window of 10 buckets of 200 ms: what these calls record stays in it however slow
      // the machine is between two of them (up to 1.6 s).
      const rate: RateTrip = {
        mode: 'rate',
        thresholdPpm: 500_000,
        minCalls: 4,
        bucketMs: 200,
        buckets: 10,
      };
      const { state, now } = await store.read(keys);
      const term = termOf(state);
      const lastEnded = Math.floor(now / rate.bucketMs) - 1;
      const few = await store.recordRate(
        keys,
        term,
        [{ bucket: lastEnded, successes: 1, failures: 2 }],
        rate,
        0,
        OPEN,
      );
      // Decided: 3 calls, 2 failed, below the 4 calls needed; saved quietly, not opened.
      expect(few.state).toMatchObject({ state: 'closed', calls: 3, failures: 2 });
      expect(few.state.decidedBucket).toBe(Math.floor(few.now / rate.bucketMs) - 1);
      expect(few.decideAt).toBeGreaterThan(few.now);

      const current = Math.floor(few.now / rate.bucketMs);
      const pending = await store.recordRate(
        keys,
        term,
        [{ bucket: current, successes: 0, failures: 2 }],
        rate,
        0,
        OPEN,
      );
      // The current bucket has not ended: nothing is decided on it yet. (Only if Redis's clock
      // says so: a machine slow enough to let the bucket end between two calls decides it.)
      // That machine has decided it by then, and opened: the decision below is that one.
      let decided = pending;
      if (pending.now < (current + 1) * rate.bucketMs) {
        expect(pending.state.state).toBe('closed');
        await sleep(2 * rate.bucketMs + 5);
        decided = await store.recordRate(keys, term, [], rate, 0, OPEN);
      }
      expect(decided).toMatchObject({ from: 'closed', reason: 'failure rate reached' });
      expect(decided.state).toMatchObject({ state: 'open', openCount: 1, calls: 5, failures: 4 });
    });

    it('ends an isolation given a duration once it is up on its own clock, and not before', async () => {
      const isolated = await store.force(keys, 'isolated', 'deploying the gateway', 150);
      expect(isolated.state.isolatedUntil).toBe(isolated.now + 150);
      const early = await store.endIsolation(keys);
      // Asked before the end (on the store's clock): nothing changes.
      if (early.now < isolated.state.isolatedUntil) {
        expect(early.state).toMatchObject({ state: 'isolated', version: isolated.state.version });
      }
      await sleep(200);
      const ended = await store.endIsolation(keys);
      expect(ended).toMatchObject({ from: 'isolated', reason: 'isolation expired' });
      expect(ended.state).toMatchObject({ state: 'closed', isolatedUntil: 0, failures: 0 });
      expect(ended.state.epoch).toBeGreaterThan(isolated.state.epoch);
      // Asked again (another replica's timer): nothing more.
      const again = await store.endIsolation(keys);
      expect(again.state.version).toBe(ended.state.version);
      expect(again.from).toBeUndefined();
    });

    it('never ends an isolation without a duration, nor one an operator renewed', async () => {
      await store.force(keys, 'isolated', 'until further notice');
      await sleep(20);
      expect((await store.endIsolation(keys)).state.state).toBe('isolated');
      await store.force(keys, 'isolated', 'short', 50);
      const renewed = await store.force(keys, 'isolated', 'longer', 60_000);
      await sleep(80);
      const asked = await store.endIsolation(keys);
      expect(asked.state).toMatchObject({
        state: 'isolated',
        isolatedUntil: renewed.state.isolatedUntil,
      });
      expect(asked.note).toBe('longer');
    });

    describe('with a quorum of 2 replicas', () => {
      // A replica votes when its own outcomes met the rule (its own breaker tripped).
      const vote = (replica: string, windowMs = 60_000, tripped = true): QuorumVote => ({
        replica,
        replicas: 2,
        windowMs,
        tripped,
      });
      const failures = (count: number) => [{ kind: 'failure' as const, count }];

      it('does not open on one replica’s failures, however many, and opens on a second’s', async () => {
        const term = termOf((await store.read(keys)).state);
        const alone = await store.recordConsecutive(
          keys,
          term,
          failures(10),
          THREE,
          OPEN,
          vote('a'),
        );
        expect(alone.state).toMatchObject({ state: 'closed', failures: 10 });
        // The same replica again is still one replica.
        const again = await store.recordConsecutive(
          keys,
          term,
          failures(1),
          THREE,
          OPEN,
          vote('a'),
        );
        expect(again.state.state).toBe('closed');
        const second = await store.recordConsecutive(
          keys,
          term,
          failures(1),
          THREE,
          OPEN,
          vote('b'),
        );
        expect(second).toMatchObject({ from: 'closed', reason: 'failure threshold reached' });
        expect(second.state).toMatchObject({ state: 'open', failures: 12 });
      });

      it('still needs the threshold: a success resets the count, whoever voted', async () => {
        const term = termOf((await store.read(keys)).state);
        await store.recordConsecutive(keys, term, failures(1), THREE, OPEN, vote('a'));
        const reset = await store.recordConsecutive(
          keys,
          term,
          [...failures(1), { kind: 'success', count: 1 }],
          THREE,
          OPEN,
          vote('b'),
        );
        expect(reset.state).toMatchObject({ state: 'closed', failures: 0 });
        // Two replicas have voted: the next run to reach the threshold opens.
        const opened = await store.recordConsecutive(
          keys,
          term,
          failures(3),
          THREE,
          OPEN,
          vote('c'),
        );
        expect(opened.state.state).toBe('open');
      });

      it('forgets a replica whose last failure is older than the window', async () => {
        const term = termOf((await store.read(keys)).state);
        await store.recordConsecutive(keys, term, failures(3), THREE, OPEN, vote('a', 100));
        await sleep(150);
        const late = await store.recordConsecutive(
          keys,
          term,
          failures(3),
          THREE,
          OPEN,
          vote('b', 100),
        );
        expect(late.state).toMatchObject({ state: 'closed', failures: 6 });
      });

      it('takes no vote from a replica whose own outcomes did not meet the rule', async () => {
        const term = termOf((await store.read(keys)).state);
        await store.recordConsecutive(keys, term, failures(3), THREE, OPEN, vote('a'));
        // One stray failure on b, its own breaker still closed: no quorum.
        const stray = await store.recordConsecutive(
          keys,
          term,
          failures(1),
          THREE,
          OPEN,
          vote('b', 60_000, false),
        );
        expect(stray.state).toMatchObject({ state: 'closed', failures: 4 });
        const tripped = await store.recordConsecutive(
          keys,
          term,
          failures(1),
          THREE,
          OPEN,
          vote('b'),
        );
        expect(tripped.state.state).toBe('open');
      });

      it('starts over once the breaker has opened and closed again', async () => {
        const term = termOf((await store.read(keys)).state);
        await store.recordConsecutive(keys, term, failures(1), THREE, OPEN, vote('a'));
        await store.recordConsecutive(keys, term, failures(3), THREE, OPEN, vote('b'));
        await store.force(keys, 'closed');
        const fresh = termOf((await store.read(keys)).state);
        const alone = await store.recordConsecutive(
          keys,
          fresh,
          failures(5),
          THREE,
          OPEN,
          vote('a'),
        );
        expect(alone.state.state).toBe('closed');
      });

      it('in rate mode, decides a window that meets the rate only once two replicas failed', async () => {
        const rate: RateTrip = {
          mode: 'rate',
          thresholdPpm: 500_000,
          minCalls: 2,
          bucketMs: 200,
          buckets: 10,
        };
        const { state, now } = await store.read(keys);
        const term = termOf(state);
        const lastEnded = Math.floor(now / rate.bucketMs) - 1;
        const alone = await store.recordRate(
          keys,
          term,
          [{ bucket: lastEnded, successes: 0, failures: 4 }],
          rate,
          0,
          OPEN,
          vote('a'),
        );
        expect(alone.state).toMatchObject({ state: 'closed', calls: 4, failures: 4 });
        const second = await store.recordRate(
          keys,
          term,
          [{ bucket: lastEnded, successes: 0, failures: 1 }],
          rate,
          0,
          OPEN,
          vote('b'),
        );
        // The decided bucket is decided again only when a later one settles: wait for it.
        if (second.state.state !== 'open') {
          await sleep(rate.bucketMs + 5);
          const decided = await store.recordRate(keys, term, [], rate, 0, OPEN, vote('b'));
          expect(decided.state).toMatchObject({ state: 'open', failures: 5 });
        }
      });
    });

    it('tells in every reply why the state last changed, and the words given', async () => {
      await probing('holder');
      expect((await store.read(keys)).reason).toBe('open period over');
      await store.force(keys, 'isolated', 'gateway maintenance');
      expect(await store.read(keys)).toMatchObject({
        reason: 'isolated by an operator',
        note: 'gateway maintenance',
      });
      await store.force(keys, 'closed');
      const { state, reason, note } = await store.read(keys);
      expect({ reason, note }).toEqual({ reason: 'reset by an operator', note: undefined });
      // Counts change, the reason of the state stays.
      const counted = await store.recordConsecutive(
        keys,
        termOf(state),
        [{ kind: 'failure', count: 1 }],
        THREE,
        OPEN,
      );
      expect(counted.reason).toBe('reset by an operator');
    });

    it('announces every change but window counts, in order, with what it was', async () => {
      await probing('holder');
      await store.releaseProbe(keys, 'holder', 'success', OPEN);
      const rate: RateTrip = {
        mode: 'rate',
        thresholdPpm: 500_000,
        minCalls: 99,
        bucketMs: 20,
        buckets: 2,
      };
      const { state, now } = await store.read(keys);
      const past = Math.floor(now / rate.bucketMs) - 3;
      await store.recordRate(
        keys,
        termOf(state),
        [{ bucket: past, successes: 1, failures: 0 }],
        rate,
        0,
        OPEN,
      );
      await delivered();
      expect(heard.map((m) => [m.from, m.state.state, m.reason])).toEqual([
        ['closed', 'open', 'failure threshold reached'],
        ['open', 'half_open', 'open period over'],
        ['half_open', 'closed', 'probe success'],
      ]);
      const written = heard.map((m) => m.state.writtenAt);
      expect([...written].sort((a, b) => a - b)).toEqual(written);
      expect(new Set(written).size).toBe(written.length);
    });
  });
}
