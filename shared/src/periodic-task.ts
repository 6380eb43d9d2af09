export interface PeriodicTaskOptions<T> {
  intervalMs: number;
  run: () => Promise<T>;
  /** Called when a round fails; the loop goes on. */
  onError: (error: unknown) => void;
}

/**
 * Runs `run` every `intervalMs` (after the previous round ends, never two at
 * once) until stopped. Its timer never keeps the process alive.
 */
export class PeriodicTask<T> {
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<T> | undefined;
  #started = false;
  #stopped = false;

  constructor(private readonly options: PeriodicTaskOptions<T>) {}

  /** True once `stop()` was called: a long round should wind down. */
  get stopping(): boolean {
    return this.#stopped;
  }

  start(): void {
    this.#started = true;
    this.#stopped = false;
    this.#schedule();
  }

  /** Stops the loop and waits for a round in progress to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round?.catch(() => undefined);
  }

  /** Runs one round now, or joins the one in progress. */
  runOnce(): Promise<T> {
    this.#round ??= this.options.run().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  #schedule(): void {
    if (!this.#started || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.runOnce()
        .catch(this.options.onError)
        .finally(() => {
          this.#schedule();
        });
    }, this.options.intervalMs).unref();
  }
}
