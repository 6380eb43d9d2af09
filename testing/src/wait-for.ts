/**
 * Polls `condition` until it holds. The limit bounds how long a test waits
 * for something that should happen; it is not a speed requirement.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  { limitMs = 30_000, everyMs = 10 }: { limitMs?: number; everyMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
