import { breakerKeys } from './breaker-keys';
import { INITIAL_STATE, termOf, type ScriptReply, type Term } from './breaker-state';
import { ConsecutiveReporter } from './consecutive-reporter';
import { MemoryBreakerStore } from './memory-breaker-store';
import { OutcomeReporter, type SendBatch } from './outcome-reporter';

const reply = (failures = 0): ScriptReply => ({ state: { ...INITIAL_STATE, failures }, now: 0 });

/**
 * The smallest concrete reporter: every outcome needs a write, and a batch is
 * the outcomes in the order they were recorded ('F' failed, 'S' succeeded),
 * so the tests see exactly what the base class decided to send and when.
 */
class ListReporter extends OutcomeReporter<string[]> {
  readonly answers: ScriptReply[] = [];
  #pending: string[] = [];

  constructor(
    send: SendBatch<string[]>,
    protected readonly gatherMs: number,
  ) {
    super(send);
  }

  /** What a subclass does when it needs a write outside the batching (as the rate reporter's decision timer). */
  sendExtra(batch: string[]): void {
    this.sendNow(batch);
  }

  protected add(failed: boolean): boolean {
    this.#pending.push(failed ? 'F' : 'S');
    return true;
  }

  protected hasPending(): boolean {
    return this.#pending.length > 0;
  }

  protected take(): string[] {
    const batch = this.#pending;
    this.#pending = [];
    return batch;
  }

  protected clear(): void {
    this.#pending = [];
  }

  protected override answered(answer: ScriptReply): void {
    this.answers.push(answer);
  }
}

interface Write {
  term: Term;
  batch: string[];
  /** Redis answers (undefined: the breaker's write path saw the store fail). */
  answer(result?: ScriptReply): void;
  /** The send itself rejects. */
  fail(error: Error): void;
}

/** A store that answers only when the test says so, so writes in flight can be observed. */
function heldStore() {
  const writes: Write[] = [];
  const send: SendBatch<string[]> = (term, batch) =>
    new Promise((resolve, reject) => {
      writes.push({ term, batch, answer: resolve, fail: reject });
    });
  return { writes, send, batches: () => writes.map((write) => write.batch) };
}

/** A store that answers every write at once (undefined: the breaker's write path saw it fail). */
function answeringStore(answer: () => ScriptReply | undefined = () => reply()) {
  const writes: { term: Term; batch: string[] }[] = [];
  const send: SendBatch<string[]> = (term, batch) => {
    writes.push({ term, batch });
    return Promise.resolve(answer());
  };
  return { writes, send, batches: () => writes.map((write) => write.batch) };
}

const start = termOf(INITIAL_STATE);
const nextTurn = () => jest.advanceTimersByTimeAsync(0);

/** Whether a promise has settled, after letting pending callbacks run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await nextTurn();
  return done;
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  jest.useRealTimers();
});

describe('the outcome reporter: batching', () => {
  it('writes nothing on the caller’s path, then the outcomes of one turn as one batch in order', async () => {
    const store = answeringStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.record(start, true);
    reporter.record(start, false);
    reporter.record(start, true);
    expect(store.writes).toEqual([]);
    await nextTurn();
    expect(store.writes).toEqual([{ term: start, batch: ['F', 'S', 'F'] }]);
  });

  it('gathers outcomes for its gathering time, counted from the first one, before writing', async () => {
    const store = answeringStore();
    const reporter = new ListReporter(store.send, 100);
    reporter.record(start, true);
    await jest.advanceTimersByTimeAsync(60);
    reporter.record(start, false);
    await jest.advanceTimersByTimeAsync(39);
    expect(store.writes).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(store.batches()).toEqual([['F', 'S']]);
  });

  it('keeps one write in flight: what happens meanwhile leaves as one batch once it is answered', async () => {
    const store = heldStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.record(start, true);
    await nextTurn();
    reporter.record(start, false);
    reporter.record(start, true);
    await jest.advanceTimersByTimeAsync(10_000);
    // Writes reach Redis in the order the outcomes happened only if the second waits for the first.
    expect(store.batches()).toEqual([['F']]);
    store.writes[0]!.answer(reply());
    await nextTurn();
    expect(store.batches()).toEqual([['F'], ['S', 'F']]);
  });

  it('sends a batch whose gathering time ran out during a write as soon as that write is answered', async () => {
    const store = heldStore();
    const reporter = new ListReporter(store.send, 100);
    reporter.record(start, true);
    await jest.advanceTimersByTimeAsync(100);
    reporter.record(start, false);
    await jest.advanceTimersByTimeAsync(150);
    expect(store.batches()).toEqual([['F']]);
    store.writes[0]!.answer(reply());
    // No second gathering period: the outcome already waited longer than one.
    await nextTurn();
    expect(store.batches()).toEqual([['F'], ['S']]);
  });

  it('still gathers for the full time when the write in flight is answered early', async () => {
    const store = heldStore();
    const reporter = new ListReporter(store.send, 100);
    reporter.record(start, true);
    await jest.advanceTimersByTimeAsync(100);
    reporter.record(start, false);
    await jest.advanceTimersByTimeAsync(30);
    store.writes[0]!.answer(reply());
    await jest.advanceTimersByTimeAsync(69);
    expect(store.batches()).toEqual([['F']]);
    await jest.advanceTimersByTimeAsync(1);
    expect(store.batches()).toEqual([['F'], ['S']]);
  });

  it('passes every reply Redis gave on to the subclass', async () => {
    const store = heldStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.record(start, true);
    await nextTurn();
    reporter.record(start, true);
    store.writes[0]!.answer(reply(1));
    await nextTurn();
    store.writes[1]!.answer(reply(2));
    await reporter.flush();
    expect(reporter.answers.map((answer) => answer.state.failures)).toEqual([1, 2]);
  });
});

describe('the outcome reporter: terms', () => {
  it('drops outcomes of calls started in another epoch or another incarnation', async () => {
    const store = answeringStore();
    const reporter = new ListReporter(store.send, 0);
    const current = { incarnation: 7, epoch: 3 };
    reporter.termChanged(current);
    reporter.record({ incarnation: 7, epoch: 2 }, true);
    reporter.record({ incarnation: 8, epoch: 3 }, true);
    reporter.record(current, false);
    await reporter.flush();
    expect(store.writes).toEqual([{ term: current, batch: ['S'] }]);
  });

  it('counts outcomes of calls started on the empty state (incarnation 0) in the same epoch', async () => {
    const store = answeringStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.termChanged({ incarnation: 7, epoch: 0 });
    reporter.record({ incarnation: 0, epoch: 0 }, true);
    await reporter.flush();
    expect(store.writes).toEqual([{ term: { incarnation: 7, epoch: 0 }, batch: ['F'] }]);
  });

  it('forgets outcomes gathered in a term that ended before they were sent', async () => {
    const store = answeringStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.termChanged({ incarnation: 7, epoch: 1 });
    reporter.record({ incarnation: 7, epoch: 1 }, true);
    reporter.record({ incarnation: 7, epoch: 1 }, true);
    reporter.termChanged({ incarnation: 7, epoch: 2 });
    await nextTurn();
    await reporter.flush();
    expect(store.writes).toEqual([]);
    // The new term's outcomes still go out, in the new term.
    reporter.record({ incarnation: 7, epoch: 2 }, false);
    await nextTurn();
    expect(store.writes).toEqual([{ term: { incarnation: 7, epoch: 2 }, batch: ['S'] }]);
  });

  it('keeps what is pending when the breaker hears of a change within the same term', async () => {
    const store = answeringStore();
    const reporter = new ListReporter(store.send, 0);
    const term = { incarnation: 7, epoch: 1 };
    reporter.termChanged(term);
    reporter.record(term, true);
    // Every state the breaker learns is passed on, most of them (counts changing) in the same term.
    reporter.termChanged({ ...term });
    await nextTurn();
    expect(store.batches()).toEqual([['F']]);
  });

  it('sends outcomes of the empty state in the incarnation it became', async () => {
    const store = answeringStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.record(start, true);
    // The first write created the hash: same epoch, so the same term, now with its incarnation.
    reporter.termChanged({ incarnation: 42, epoch: 0 });
    await nextTurn();
    expect(store.writes).toEqual([{ term: { incarnation: 42, epoch: 0 }, batch: ['F'] }]);
  });

  it('does not let a store count failures of an earlier term in the new one (memory store)', async () => {
    const store = new MemoryBreakerStore({ now: () => 1_000 });
    const keys = breakerKeys('payments');
    const open = { openMs: 1_000, maxOpenMs: 1_000, backoffFactor: 2 };
    const trip = { mode: 'consecutive', threshold: 3 } as const;
    const reporter = new ConsecutiveReporter(
      (term, runs) => store.recordConsecutive(keys, term, runs, trip, open),
      trip.threshold,
      () => 0,
    );
    reporter.record(start, true);
    reporter.record(start, true);
    // An operator resets the breaker before the failures leave: a new term.
    const reset = await store.force(keys, 'closed');
    reporter.termChanged(termOf(reset.state));
    reporter.record(termOf(reset.state), true);
    await reporter.flush();
    // Batches go out in the breaker's current term, so only forgetting keeps the two old failures out.
    const after = await store.read(keys);
    expect(after.state).toMatchObject({ state: 'closed', failures: 1 });
  });
});

describe('the outcome reporter: flush', () => {
  it('sends what is pending at once, without waiting for the gathering time', async () => {
    const store = answeringStore();
    const reporter = new ListReporter(store.send, 60_000);
    reporter.record(start, true);
    await reporter.flush();
    expect(store.batches()).toEqual([['F']]);
    // The gathering timer must not send the same outcomes again later.
    await jest.advanceTimersByTimeAsync(60_000);
    expect(store.batches()).toEqual([['F']]);
  });

  it('gives the first outcome after a flush a gathering time of its own', async () => {
    const store = answeringStore();
    const reporter = new ListReporter(store.send, 100);
    reporter.record(start, true);
    await jest.advanceTimersByTimeAsync(10);
    await reporter.flush();
    await jest.advanceTimersByTimeAsync(40);
    reporter.record(start, false);
    // The gathering that the flush cut short must not send this one early.
    await jest.advanceTimersByTimeAsync(99);
    expect(store.batches()).toEqual([['F']]);
    await jest.advanceTimersByTimeAsync(1);
    expect(store.batches()).toEqual([['F'], ['S']]);
  });

  it('resolves only once every write sent so far, and what gathered behind it, has been answered', async () => {
    const store = heldStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.record(start, true);
    await nextTurn();
    reporter.record(start, false);
    const flushed = reporter.flush();
    expect(await settled(flushed)).toBe(false);
    store.writes[0]!.answer(reply());
    expect(await settled(flushed)).toBe(false);
    expect(store.batches()).toEqual([['F'], ['S']]);
    store.writes[1]!.answer(reply());
    expect(await settled(flushed)).toBe(true);
  });

  it('resolves at once when nothing is pending or in flight', async () => {
    const store = answeringStore();
    const reporter = new ListReporter(store.send, 0);
    expect(await settled(reporter.flush())).toBe(true);
    expect(store.writes).toEqual([]);
  });
});

describe('the outcome reporter: dispose and restart', () => {
  it('forgets what is pending and writes nothing more once disposed', async () => {
    const store = answeringStore();
    const reporter = new ListReporter(store.send, 100);
    reporter.record(start, true);
    reporter.dispose();
    reporter.record(start, true);
    await jest.advanceTimersByTimeAsync(1_000);
    await reporter.flush();
    expect(store.writes).toEqual([]);
  });

  it('does not pass on a reply that arrives after dispose, nor send what gathered behind it', async () => {
    const store = heldStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.record(start, true);
    await nextTurn();
    reporter.record(start, false);
    reporter.dispose();
    store.writes[0]!.answer(reply(1));
    await jest.advanceTimersByTimeAsync(1_000);
    expect(reporter.answers).toEqual([]);
    expect(store.batches()).toEqual([['F']]);
  });

  it('writes again after restart, in the term it restarts in', async () => {
    const store = answeringStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.record(start, true);
    reporter.dispose();
    const term = { incarnation: 9, epoch: 4 };
    reporter.restart(term);
    // What dispose forgot stays forgotten; calls of the old term stay dropped.
    reporter.record({ incarnation: 9, epoch: 3 }, true);
    reporter.record(term, false);
    await nextTurn();
    expect(store.writes).toEqual([{ term, batch: ['S'] }]);
  });

  it('lets a subclass send an extra write only when no write is in flight and it is not disposed', async () => {
    const store = heldStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.sendExtra(['extra 1']);
    // In flight: skipped, not queued.
    reporter.sendExtra(['extra 2']);
    store.writes[0]!.answer(reply());
    await nextTurn();
    reporter.dispose();
    reporter.sendExtra(['extra 3']);
    await nextTurn();
    expect(store.batches()).toEqual([['extra 1']]);
  });
});

describe('the outcome reporter: store failures', () => {
  it('goes on writing later outcomes after a write the store failed (no reply)', async () => {
    const store = answeringStore(() => undefined);
    const reporter = new ListReporter(store.send, 0);
    reporter.record(start, true);
    await nextTurn();
    reporter.record(start, false);
    await nextTurn();
    expect(store.batches()).toEqual([['F'], ['S']]);
    // No reply: nothing for the subclass to learn from.
    expect(reporter.answers).toEqual([]);
  });

  it('sends what gathered behind a write the store failed once it is over', async () => {
    const store = heldStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.record(start, true);
    await nextTurn();
    reporter.record(start, false);
    await nextTurn();
    store.writes[0]!.answer(undefined);
    await nextTurn();
    expect(store.batches()).toEqual([['F'], ['S']]);
  });

  it('does not reject flush, nor stop later writes, when a send rejects', async () => {
    const store = heldStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.record(start, true);
    await nextTurn();
    const flushed = reporter.flush();
    store.writes[0]!.fail(new Error('connection reset'));
    await expect(flushed).resolves.toBeUndefined();
    reporter.record(start, false);
    await nextTurn();
    expect(store.batches()).toEqual([['F'], ['S']]);
  });

  // A send that rejects is outside SendBatch's contract; it must not leave a batch behind.
  it('sends what gathered behind a write whose send rejected', async () => {
    const store = heldStore();
    const reporter = new ListReporter(store.send, 0);
    reporter.record(start, true);
    await nextTurn();
    // Gathered, and its gathering time over, while the first write is in flight.
    reporter.record(start, false);
    await nextTurn();
    store.writes[0]!.fail(new Error('connection reset'));
    await nextTurn();
    // The batch gathered behind the failed write left at once; the next one waits behind it.
    expect(store.batches()).toEqual([['F'], ['S']]);
    reporter.record(start, true);
    store.writes[1]!.answer(reply());
    await jest.advanceTimersByTimeAsync(10_000);
    expect(store.batches()).toEqual([['F'], ['S'], ['F']]);
  });
});
