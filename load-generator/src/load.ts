import { orderSchema } from '@cb-lab/contracts';
import { performance } from 'node:perf_hooks';
import { LatencyHistogram } from './latency-histogram';
import { OutcomeTally } from './outcome-tally';
import type { LatencySummary } from './stats';

/** How one order ended, from the load generator's point of view. */
export type OrderOutcome =
  | 'paid'
  | 'payment_pending'
  | 'payment_failed'
  /** A 4xx: the generator's own bad request (should never happen). */
  | 'rejected'
  /** A 5xx, a timeout or a broken connection: orders itself failed. */
  | 'error';

export interface OrderSample {
  /** When the order was sent, in ms since the load started. */
  sentAtMs: number;
  latencyMs: number;
  outcome: OrderOutcome;
  failureReason?: string;
}

export interface LoadOptions {
  ordersUrl: string;
  /** Orders per second, sent on a fixed schedule whatever the answers take (open loop). */
  ratePerSecond: number;
  /** Stops after this long; `Infinity` runs until `signal` aborts. */
  durationMs: number;
  /** Orders waiting for an answer at most; beyond it the generator skips a beat instead of piling up. */
  maxInFlight?: number;
  /** Budget of one order call. */
  requestTimeoutMs?: number;
  signal?: AbortSignal;
  onSample?: (sample: OrderSample) => void;
}

/**
 * What a load run measured, in a size that does not grow with its length.
 * A caller that wants every sample collects them with `onSample`.
 */
export interface LoadResult {
  /** Orders that got an answer or gave up waiting (skipped beats are not orders). */
  orders: number;
  latency: LatencySummary;
  outcomes: OutcomeTally;
  /** Beats skipped because `maxInFlight` orders were already waiting. */
  skipped: number;
  durationMs: number;
}

const AMOUNTS = [1999, 4500, 1250, 9900, 320];

/** Sends one order and classifies the answer. */
export async function placeOrder(
  ordersUrl: string,
  n: number,
  timeoutMs: number,
): Promise<Omit<OrderSample, 'sentAtMs'>> {
  const started = performance.now();
  try {
    const response = await fetch(`${ordersUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        customerId: `load-${n % 50}`,
        amount: AMOUNTS[n % AMOUNTS.length],
        currency: 'EUR',
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body: unknown = await response.json().catch(() => undefined);
    const latencyMs = performance.now() - started;
    if (response.status >= 500) return { latencyMs, outcome: 'error' };
    if (response.status >= 400) return { latencyMs, outcome: 'rejected' };
    // A 2xx that is not an order (or an order still `processing`) is orders failing.
    const order = orderSchema.safeParse(body);
    if (!order.success || order.data.status === 'processing')
      return { latencyMs, outcome: 'error' };
    const { status, failureReason } = order.data;
    return {
      latencyMs,
      outcome: status,
      ...(failureReason === undefined ? {} : { failureReason }),
    };
  } catch {
    return { latencyMs: performance.now() - started, outcome: 'error' };
  }
}

/**
 * Sends orders at a steady rate for a while. Each beat is scheduled from the
 * start time, so slow answers do not lower the rate (a closed loop would hide
 * exactly the slowness a breaker is meant to cut); the in-flight cap keeps a
 * dead stack from exhausting the generator.
 */
export async function runLoad({
  ordersUrl,
  ratePerSecond,
  durationMs,
  maxInFlight = 200,
  requestTimeoutMs = 10_000,
  signal,
  onSample,
}: LoadOptions): Promise<LoadResult> {
  if (!(ratePerSecond > 0))
    throw new RangeError(`the rate must be above 0 orders per second (got ${ratePerSecond})`);
  const latency = new LatencyHistogram();
  const outcomes = new OutcomeTally();
  const inFlight = new Set<Promise<void>>();
  const intervalMs = 1_000 / ratePerSecond;
  const started = performance.now();
  let skipped = 0;
  // A function, not a narrowed property: the signal may abort while we sleep.
  const stopped = () => signal?.aborted === true;
  for (let n = 0; ; n += 1) {
    const dueAt = n * intervalMs;
    if (dueAt >= durationMs || stopped()) break;
    const wait = dueAt - (performance.now() - started);
    if (wait > 0) await sleep(wait, signal);
    if (stopped()) break;
    if (inFlight.size >= maxInFlight) {
      skipped += 1;
      continue;
    }
    const sentAtMs = performance.now() - started;
    const request = placeOrder(ordersUrl, n, requestTimeoutMs).then((result) => {
      const sample = { sentAtMs, ...result };
      latency.record(sample.latencyMs);
      outcomes.record(sample);
      onSample?.(sample);
    });
    inFlight.add(request);
    void request.finally(() => inFlight.delete(request));
  }
  await Promise.all(inFlight);
  return {
    orders: outcomes.count,
    latency: latency.summary(),
    outcomes,
    skipped,
    durationMs: performance.now() - started,
  };
}

/** The longest delay a Node.js timer takes; a longer one fires after 1 ms, with a warning. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Sleeps `ms`, or less if `signal` aborts first. Never longer than a timer can wait: at a rate
 * so low that the next order is further away, the caller's loop finds it still due later and
 * sleeps again.
 */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, Math.min(ms, MAX_TIMER_MS));
    signal?.addEventListener('abort', wake, { once: true });
  });
