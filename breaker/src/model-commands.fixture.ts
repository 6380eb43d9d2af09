import { BrokenCircuitError, IsolatedCircuitError } from 'cockatiel';
import fc from 'fast-check';
import type { OpenSettings, SharedCircuitBreakerOptions } from './breaker-options';
import type { BreakerStateName } from './breaker-state';
import type { BreakerContext, Verdict } from './judged-call';
import { monotonicNow } from './redis-clock';
import { BreakerModel, type Admission, type Admitted } from './reference-model.fixture';
import type { SharedCircuitBreaker } from './shared-circuit-breaker';

/** A breaker under test, as the model-based commands drive it. */
export interface Subject {
  execute<T>(fn: (context: BreakerContext) => Promise<T>, signal: AbortSignal): Promise<T>;
  readonly state: BreakerStateName;
  /** Consecutive failures, or failures in the last decided window. */
  readonly failures: number;
  isolate(): Promise<void> | void;
  reset(): Promise<void> | void;
  /** Waits until what the last command did has taken effect (Redis answered). */
  settle(): Promise<void>;
  /** The subject's clock: the time the model decides on. */
  now(): number;
  /** When the current open period ends, as the subject knows it. */
  openUntil(): number;
  /** Lets `ms` pass on the subject's clock. */
  wait(ms: number): Promise<void>;
}

export interface World {
  subject: Subject;
  model: BreakerModel;
  /** A call let through and still running, ended by a later command. */
  held?: { admitted: Admitted; end: (kind: CallKind) => Promise<void> };
}

/** How a call ends: the verdicts a breaker sorts calls into. */
export type CallKind = Verdict;

/** An error the breakers under test do not count: a business answer. */
export class Declined extends Error {}

/**
 * How close to the end of an open period a call may come on a real clock:
 * nearer, the test waits until the period is clearly over, so that the model
 * and the subject never decide on two sides of the boundary.
 */
const BOUNDARY_MARGIN_MS = 30;

async function clearOfBoundary(world: World): Promise<number> {
  const { subject, model } = world;
  let now = subject.now();
  if (model.state === 'open' && Math.abs(now - model.halfOpenAt) < BOUNDARY_MARGIN_MS) {
    await subject.wait(model.halfOpenAt - now + BOUNDARY_MARGIN_MS);
    now = subject.now();
  }
  return now;
}

/** Checks the subject against the model once the command has taken effect. */
async function compare(world: World): Promise<void> {
  await world.subject.settle();
  const now = world.subject.now();
  expect(world.subject.state).toBe(world.model.stateAt(now));
  if (world.model.state === 'closed') expect(world.subject.failures).toBe(world.model.failures);
  // The model follows the open period the subject decided on (its length is tested elsewhere).
  if (world.model.state === 'open') world.model.halfOpenAt = world.subject.openUntil();
}

/**
 * Starts one call that ends as `kind` when `end` is called; resolves with
 * what the subject did with it once that is known.
 */
async function start(subject: Subject): Promise<{
  admission: Admission;
  end: (kind: CallKind) => Promise<void>;
}> {
  const controller = new AbortController();
  let settle: (kind: CallKind) => void = () => undefined;
  let admitted: (probe: boolean) => void = () => undefined;
  const ran = new Promise<boolean>((resolve) => (admitted = resolve));
  const running = subject
    .execute((context) => {
      admitted(context.probe);
      return new Promise<string>((resolve, reject) => {
        settle = (kind) => {
          if (kind === 'success') resolve('ok');
          else if (kind === 'neutral') reject(new Declined('a business answer'));
          else {
            if (kind === 'cancelled') controller.abort();
            reject(new Error('dependency down'));
          }
        };
      });
    }, controller.signal)
    .then(
      () => undefined,
      (error: unknown) => error,
    );
  const first = await Promise.race([ran, running.then(() => 'settled' as const)]);
  if (first === 'settled') {
    const error = await running;
    if (!(error instanceof BrokenCircuitError)) throw error;
    return {
      admission: error instanceof IsolatedCircuitError ? 'isolated' : 'rejected',
      end: () => Promise.resolve(),
    };
  }
  return {
    admission: first ? 'probe' : 'run',
    end: async (kind) => {
      settle(kind);
      await running;
    },
  };
}

/** Runs one call that ends as `kind`; what the subject did with it. */
export async function callOnce(subject: Subject, kind: CallKind): Promise<Admission> {
  const call = await start(subject);
  await call.end(kind);
  return call.admission;
}

/**
 * Starts a call on the subject and checks it was let through, or not, as
 * the model says; what the model admitted, if anything, and its end.
 */
async function startAsModelSays(world: World) {
  const now = await clearOfBoundary(world);
  const admission = world.model.admit(now);
  const term = world.model.term;
  const call = await start(world.subject);
  expect(call.admission).toBe(admission);
  const admitted: Admitted | undefined =
    admission === 'run' || admission === 'probe' ? { admission, term } : undefined;
  return { admitted, end: call.end };
}

/** One call, from start to end. */
export class Call implements fc.AsyncCommand<World, World> {
  constructor(readonly kind: CallKind) {}
  check = () => true;
  async run(_: World, world: World): Promise<void> {
    const { admitted, end } = await startAsModelSays(world);
    await end(this.kind);
    if (admitted) world.model.finish(admitted, this.kind, world.subject.now());
    await compare(world);
  }
  toString = () => `call(${this.kind})`;
}

/** Starts a call that keeps running while other commands happen. */
export class Hold implements fc.AsyncCommand<World, World> {
  check = (world: Readonly<World>) => world.held === undefined;
  async run(_: World, world: World): Promise<void> {
    const { admitted, end } = await startAsModelSays(world);
    if (admitted) world.held = { admitted, end };
    await compare(world);
  }
  toString = () => 'hold';
}

/** Ends the call started by {@link Hold}. */
export class Release implements fc.AsyncCommand<World, World> {
  constructor(readonly kind: CallKind) {}
  check = (world: Readonly<World>) => world.held !== undefined;
  async run(_: World, world: World): Promise<void> {
    const held = world.held;
    if (!held) throw new Error('nothing is held');
    world.held = undefined;
    await held.end(this.kind);
    world.model.finish(held.admitted, this.kind, world.subject.now());
    await compare(world);
  }
  toString = () => `release(${this.kind})`;
}

/** Time passes: `ms`, or until the current open period is over. */
export class Wait implements fc.AsyncCommand<World, World> {
  constructor(readonly ms: number | 'open period') {}
  check = () => true;
  async run(_: World, world: World): Promise<void> {
    const { subject, model } = world;
    if (this.ms !== 'open period') await subject.wait(this.ms);
    else if (model.state === 'open')
      await subject.wait(model.halfOpenAt - subject.now() + BOUNDARY_MARGIN_MS);
    await compare(world);
  }
  toString = () => `wait(${this.ms})`;
}

export class Operator implements fc.AsyncCommand<World, World> {
  constructor(readonly action: 'isolate' | 'reset') {}
  check = () => true;
  async run(_: World, world: World): Promise<void> {
    await world.subject[this.action]();
    world.model[this.action]();
    await compare(world);
  }
  toString = () => this.action;
}

/**
 * Sequences of calls (succeeding, failing, not counted, cancelled), calls
 * held across other commands, waits, isolate and reset. Calls come most
 * often, operators least: an isolate or a reset wipes out what led up to it.
 */
export function breakerCommands(waits: fc.Arbitrary<Wait>, maxCommands: number) {
  const kinds = fc.constantFrom<CallKind>('success', 'failure', 'failure', 'neutral', 'cancelled');
  const calls = kinds.map((kind) => new Call(kind));
  return fc.commands(
    [
      calls,
      calls,
      calls,
      fc.constant(new Hold()),
      kinds.map((kind) => new Release(kind)),
      waits,
      waits,
      fc.constantFrom<'isolate' | 'reset'>('isolate', 'reset').map((a) => new Operator(a)),
    ],
    { maxCommands },
  );
}

/** A shared breaker as the model-based commands drive it, on whatever store it uses. */
export function sharedSubject(breaker: SharedCircuitBreaker): Subject {
  return {
    execute: (fn, signal) => breaker.execute(fn, signal),
    get state() {
      return breaker.state;
    },
    get failures() {
      return breaker.snapshot().failures;
    },
    isolate: () => breaker.isolate(),
    reset: () => breaker.reset(),
    settle: () => breaker.flush(),
    // The breaker's own estimate of Redis time: the clock its decisions are taken on.
    now: () => monotonicNow() + breaker.snapshot().clockOffsetMs,
    openUntil: () => breaker.snapshot().localView.halfOpenAt,
    wait: async (ms) => {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
    },
  };
}

/** The open period does not grow here: the model follows what the store decides anyway. */
const MODEL_OPEN: OpenSettings = { openMs: 120, maxOpenMs: 120, backoffFactor: 1 };

/**
 * Drives a shared breaker, one for each run, with every sequence fast-check
 * makes of calls (succeeding, failing, not counted, cancelled, held across
 * other commands), waits, isolate and reset, in consecutive mode with a
 * threshold of 1 to 3, and checks it after each command against the
 * reference model. `start` makes and starts the breaker with `options`.
 */
export async function assertFollowsTheModel(
  start: (options: Partial<SharedCircuitBreakerOptions>) => Promise<SharedCircuitBreaker>,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }),
      breakerCommands(fc.constant(new Wait('open period')), 25),
      async (threshold, cmds) => {
        const breaker = await start({
          trip: { mode: 'consecutive', threshold },
          ...MODEL_OPEN,
          isFailure: (error) => !(error instanceof Declined),
        });
        const world: World = {
          subject: sharedSubject(breaker),
          model: new BreakerModel({ mode: 'consecutive', threshold }, MODEL_OPEN),
        };
        await fc.asyncModelRun(() => ({ model: world, real: world }), cmds);
        // A call still held ends here, so that nothing outlives the run.
        await world.held?.end('success');
        breaker.dispose();
      },
    ),
    { numRuns: 100 },
  );
}

export { BreakerModel };
