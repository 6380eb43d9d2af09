/**
 * Collects what a test suite started so `afterAll` stops it all, newest
 * first, even when setup failed half-way.
 */
export class Teardown {
  readonly #steps: (() => Promise<unknown>)[] = [];

  /** Registers `resource` for stopping and returns it. */
  add<T>(resource: T, stop: (resource: T) => Promise<unknown>): T {
    this.#steps.unshift(() => stop(resource));
    return resource;
  }

  async run(): Promise<void> {
    const steps = this.#steps.splice(0);
    const failures: unknown[] = [];
    for (const step of steps) await step().catch((error: unknown) => failures.push(error));
    if (failures.length > 0)
      throw new AggregateError(failures, `${failures.length} teardown step(s) failed`);
  }
}
