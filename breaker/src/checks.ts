/** The longest period a Node.js timer keeps (about 24.8 days): a longer one would fire at once. */
export const MAX_PERIOD_MS = 2_147_483_647;

/** `value` if it is a positive number (a safe integer when `integer`), else a RangeError naming the setting. */
export function positive(name: string, value: number, integer = false): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) {
    throw new RangeError(
      `${name} must be a positive ${integer ? 'integer' : 'number'} (got ${value})`,
    );
  }
  return value;
}

/** `value` if it is a whole number of milliseconds a timer can wait, else a RangeError naming the setting. */
export function periodMs(name: string, value: number): number {
  positive(name, value, true);
  if (value > MAX_PERIOD_MS)
    throw new RangeError(`${name} must be at most ${MAX_PERIOD_MS} ms (got ${value})`);
  return value;
}
