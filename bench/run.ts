/** Prints one line of a benchmark's progress or results. */
export const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/**
 * Runs a benchmark's main function. A benchmark fails only when it could not
 * run: the error is printed and the exit code set, never a threshold.
 */
export function runBenchmark(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(
      `${name} could not run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
