import { runLoad, type OrderSample } from './load';

/**
 * Keeps a gentle stream of orders flowing so the dashboards are alive as soon
 * as the stack is up. `PUT /load {"ratePerSecond": N}` (admin token) changes
 * the rate without a restart; 0 pauses it.
 */
export class LoadGenerator {
  #rate: number;
  #current: AbortController | undefined;

  constructor(
    private readonly ordersUrl: string,
    rate: number,
    private readonly onSample: (sample: OrderSample) => void,
  ) {
    this.#rate = rate;
  }

  get ratePerSecond(): number {
    return this.#rate;
  }

  start(): void {
    this.#current?.abort();
    if (this.#rate === 0) return;
    const controller = new AbortController();
    this.#current = controller;
    void runLoad({
      ordersUrl: this.ordersUrl,
      ratePerSecond: this.#rate,
      durationMs: Infinity,
      maxInFlight: 50,
      requestTimeoutMs: 15_000,
      signal: controller.signal,
      onSample: this.onSample,
    });
  }

  setRate(rate: number): void {
    this.#rate = rate;
    this.start();
  }

  stop(): void {
    this.#current?.abort();
  }
}
