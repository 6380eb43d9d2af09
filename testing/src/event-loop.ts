import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopWatch {
  /** The longest the event loop was late since the watch started, in milliseconds. */
  maxDelayMs(): number;
  stop(): void;
}

/**
 * Measures how late this process's event loop runs. Timing claims in tests
 * allow this measured delay, never a fixed margin: a busy machine delays
 * timers and the code under test alike.
 */
export function watchEventLoop(): EventLoopWatch {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  return {
    maxDelayMs: () => histogram.max / 1e6,
    stop: () => histogram.disable(),
  };
}
