/** One dependency `/readyz` checks; `check` rejects when the dependency is unreachable. */
export interface ReadinessCheck {
  readonly name: string;
  readonly check: () => Promise<unknown>;
}

export interface ReadinessReport {
  ready: boolean;
  /** `ok`, or why the check failed, by check name. */
  checks: Record<string, string>;
}

/** Runs every check at once, each within `timeoutMs`, and reports each outcome by name. */
export async function checkReadiness(
  checks: readonly ReadinessCheck[],
  timeoutMs = 1_000,
): Promise<ReadinessReport> {
  const outcomes = await Promise.all(
    checks.map(async ({ name, check }) => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`no answer within ${timeoutMs} ms`));
        }, timeoutMs);
      });
      try {
        await Promise.race([check(), timedOut]);
        return [name, 'ok'] as const;
      } catch (error) {
        return [name, error instanceof Error ? error.message : String(error)] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return {
    ready: outcomes.every(([, outcome]) => outcome === 'ok'),
    checks: Object.fromEntries(outcomes),
  };
}
