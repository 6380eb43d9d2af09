import { monotonicNow, RedisClock } from './redis-clock';

/** A local clock the test moves by hand. */
function manualClock(start = 0) {
  let now = start;
  return {
    localNow: () => now,
    set: (value: number) => {
      now = value;
    },
  };
}

describe('the Redis clock', () => {
  it('says Redis time is local time until it has seen a reply', () => {
    const local = manualClock(1_234);
    const clock = new RedisClock(local.localNow);
    expect(clock.offsetMs).toBe(0);
    expect(clock.now()).toBe(1_234);
  });

  it('takes the offset at the midpoint of the round trip', () => {
    const local = manualClock();
    const clock = new RedisClock(local.localNow);
    // Sent at 1 000, answered at 1 100: Redis read its clock (5 050) around local 1 050.
    clock.observe(1_000, 1_100, 5_050);
    expect(clock.offsetMs).toBe(4_000);
    local.set(1_100);
    expect(clock.now()).toBe(5_100);
  });

  it('handles a Redis clock behind the local one', () => {
    const local = manualClock(10_000);
    const clock = new RedisClock(local.localNow);
    clock.observe(10_000, 10_020, 7_010);
    expect(clock.offsetMs).toBe(-3_000);
    expect(clock.now()).toBe(7_000);
  });

  it('takes the first reply however slow its round trip was', () => {
    const clock = new RedisClock(manualClock().localNow);
    clock.observe(0, 60_000, 130_000);
    expect(clock.offsetMs).toBe(100_000);
  });

  it('replaces its estimate with one from a faster round trip', () => {
    const clock = new RedisClock(manualClock().localNow);
    // 200 ms round trip: ±100 ms.
    clock.observe(0, 200, 1_100);
    expect(clock.offsetMs).toBe(1_000);
    // 20 ms round trip a moment later: ±10 ms, so it wins.
    clock.observe(300, 320, 1_360);
    expect(clock.offsetMs).toBe(1_050);
  });

  it('keeps a recent fast estimate over a slower fresh one', () => {
    const clock = new RedisClock(manualClock().localNow);
    clock.observe(0, 20, 1_010);
    expect(clock.offsetMs).toBe(1_000);
    // A slow reply would move the estimate by 500 ms if it were taken.
    clock.observe(100, 300, 1_700);
    expect(clock.offsetMs).toBe(1_000);
  });

  it('lets an old estimate age by 1 ms of uncertainty per second, so a slower fresh one wins in time', () => {
    const clock = new RedisClock(manualClock().localNow);
    // ±10 ms, measured at local 1 000.
    clock.observe(980, 1_000, 2_000);
    expect(clock.offsetMs).toBe(1_010);
    // A ±15 ms round trip 4.999 s later: the old one counts as ±14.999 ms, still better.
    clock.observe(5_969, 5_999, 7_000);
    expect(clock.offsetMs).toBe(1_010);
    // 5 s later the old one counts as ±15 ms: as good, and the fresher one is taken.
    clock.observe(5_970, 6_000, 7_000);
    expect(clock.offsetMs).toBe(1_015);
  });

  it('ages from when the kept estimate was measured, not from the last reply seen', () => {
    const clock = new RedisClock(manualClock().localNow);
    clock.observe(980, 1_000, 2_000);
    // Rejected slow replies in between must not refresh the kept estimate's age.
    clock.observe(2_900, 3_000, 9_999);
    clock.observe(4_900, 5_000, 9_999);
    expect(clock.offsetMs).toBe(1_010);
    clock.observe(5_970, 6_000, 7_000);
    expect(clock.offsetMs).toBe(1_015);
  });

  it('moves now() with the local clock, shifted by the offset', () => {
    const local = manualClock();
    const clock = new RedisClock(local.localNow);
    clock.observe(0, 10, 505);
    for (const at of [10, 1_000, 86_400_000]) {
      local.set(at);
      expect(clock.now()).toBe(at + 500);
    }
  });

  it('counts local milliseconds until a Redis time, negative once it has passed', () => {
    const local = manualClock(1_000);
    const clock = new RedisClock(local.localNow);
    clock.observe(1_000, 1_000, 6_000);
    // Redis is 5 s ahead: Redis time 6 300 is 300 local ms away.
    expect(clock.untilRedis(6_300)).toBe(300);
    local.set(1_300);
    expect(clock.untilRedis(6_300)).toBe(0);
    local.set(1_500);
    expect(clock.untilRedis(6_300)).toBe(-200);
  });

  it('follows a better estimate in untilRedis', () => {
    const local = manualClock(0);
    const clock = new RedisClock(local.localNow);
    clock.observe(0, 400, 10_200);
    expect(clock.untilRedis(11_000)).toBe(1_000);
    clock.observe(0, 2, 10_051);
    expect(clock.untilRedis(11_000)).toBe(950);
  });

  it('uses the monotonic clock when given no local clock', () => {
    expect(new RedisClock().localNow).toBe(monotonicNow);
  });
});

describe('the monotonic clock', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('reads epoch milliseconds', () => {
    // Not a timing check: only that it is on the wall clock's scale (after 2020), not uptime.
    expect(monotonicNow()).toBeGreaterThan(Date.UTC(2020, 0, 1));
  });

  it('does not go back when the wall clock is set back', () => {
    const before = monotonicNow();
    jest.spyOn(Date, 'now').mockReturnValue(before - 3_600_000);
    expect(monotonicNow()).toBeGreaterThanOrEqual(before);
  });
});
