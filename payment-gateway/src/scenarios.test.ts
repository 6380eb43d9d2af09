import { HEALTHY, type Faults } from './faults';
import {
  expandSteps,
  phaseName,
  PRESET_NAMES,
  presetScenario,
  PRESETS,
  scenarioDurationMs,
  scenarioRequestSchema,
  scenarioSchema,
  type Scenario,
} from './scenarios';

const faults = (patch: Partial<Faults>): Faults => ({ ...HEALTHY, ...patch });

/** A preset's steps as `[name, durationMs]` pairs. */
const timeline = (scenario: Scenario) =>
  scenario.steps.map((step) => [step.name, step.durationMs] as const);

describe('presets', () => {
  it('are outage, brownout, flapping and timeouts', () => {
    expect(PRESET_NAMES).toEqual(['outage', 'brownout', 'flapping', 'timeouts']);
    expect(Object.keys(PRESETS)).toEqual(PRESET_NAMES);
  });

  it('outage: healthy 15 s, down 45 s, healthy 30 s', () => {
    const outage = PRESETS.outage();
    expect(outage).toMatchObject({ name: 'outage', repeat: 1 });
    expect(timeline(outage)).toEqual([
      ['healthy', 15_000],
      ['down', 45_000],
      ['healthy', 30_000],
    ]);
    expect(outage.steps.map((step) => step.faults)).toEqual([
      HEALTHY,
      faults({ down: true }),
      HEALTHY,
    ]);
  });

  it('brownout: healthy 15 s, slow and flaky 45 s, healthy 30 s', () => {
    const brownout = PRESETS.brownout();
    expect(timeline(brownout)).toEqual([
      ['healthy', 15_000],
      ['brownout', 45_000],
      ['healthy', 30_000],
    ]);
    expect(brownout.steps[1]?.faults).toEqual(
      faults({ latencyMs: 800, jitterMs: 400, errorRate: 0.3, errorStatus: 503 }),
    );
  });

  it('flapping: healthy 10 s, six times errors 5 s and healthy 5 s, healthy 20 s', () => {
    const flapping = PRESETS.flapping();
    const flap = [
      ['errors', 5_000],
      ['healthy', 5_000],
    ] as const;
    expect(timeline(flapping)).toEqual([
      ['healthy', 10_000],
      ...Array.from({ length: 6 }, () => flap).flat(),
      ['healthy', 20_000],
    ]);
    const errors = flapping.steps.filter((step) => step.name === 'errors');
    expect(errors.map((step) => step.faults)).toEqual(
      Array.from({ length: 6 }, () => faults({ errorRate: 1, errorStatus: 503 })),
    );
  });

  it('timeouts: healthy 15 s, every charge held 30 s, healthy 30 s', () => {
    const timeouts = PRESETS.timeouts();
    expect(timeline(timeouts)).toEqual([
      ['healthy', 15_000],
      ['timeouts', 30_000],
      ['healthy', 30_000],
    ]);
    expect(timeouts.steps[1]?.faults).toEqual(faults({ timeoutRate: 1 }));
  });

  it('only healthy steps are called healthy', () => {
    for (const name of PRESET_NAMES) {
      for (const step of PRESETS[name]().steps) {
        expect(step.name === 'healthy').toBe(phaseName(step.faults) === 'healthy');
      }
    }
  });

  it('scale every duration, rounded to whole milliseconds', () => {
    expect(timeline(presetScenario('outage', 0.01))).toEqual([
      ['healthy', 150],
      ['down', 450],
      ['healthy', 300],
    ]);
    expect(timeline(PRESETS.outage(2))).toEqual([
      ['healthy', 30_000],
      ['down', 90_000],
      ['healthy', 60_000],
    ]);
    // 5 s × 0.0011 = 5.5 ms, rounded to 6; the smallest scale still leaves 5 ms.
    expect(timeline(presetScenario('flapping', 0.0011))[1]).toEqual(['errors', 6]);
    expect(Math.min(...presetScenario('flapping', 0.001).steps.map((s) => s.durationMs))).toBe(5);
  });

  it('refuse a scale outside 0.001 to 100', () => {
    for (const scale of [0, 0.0009, 100.5, -1, Number.NaN]) {
      expect(() => presetScenario('outage', scale)).toThrow(RangeError);
    }
    expect(() => presetScenario('outage', 100)).not.toThrow();
  });

  it('are valid scenarios at every scale, under 100 ms and over an hour a step too', () => {
    for (const name of PRESET_NAMES) {
      for (const scale of [0.001, 1, 100]) {
        expect(() => scenarioSchema.parse(presetScenario(name, scale))).not.toThrow();
      }
    }
  });
});

describe('phaseName', () => {
  it('names a step after the faults it injects', () => {
    expect(phaseName(HEALTHY)).toBe('healthy');
    expect(phaseName(faults({ errorStatus: 500 }))).toBe('healthy');
    expect(phaseName(faults({ down: true }))).toBe('down');
    expect(phaseName(faults({ errorRate: 0.5, jitterMs: 10 }))).toBe('error_rate-latency');
    expect(phaseName(faults({ timeoutRate: 1 }))).toBe('timeout');
  });
});

describe('expandSteps and scenarioDurationMs', () => {
  it('repeat the whole list', () => {
    const scenario: Scenario = {
      name: 'twice',
      repeat: 2,
      steps: [
        { name: 'a', durationMs: 100, faults: HEALTHY },
        { name: 'b', durationMs: 250, faults: faults({ down: true }) },
      ],
    };
    expect(expandSteps(scenario).map((step) => step.name)).toEqual(['a', 'b', 'a', 'b']);
    expect(scenarioDurationMs(scenario)).toBe(700);
    expect(scenarioDurationMs(PRESETS.outage())).toBe(90_000);
  });
});

describe('scenarioRequestSchema', () => {
  it('turns a preset request into the scaled preset', () => {
    expect(scenarioRequestSchema.parse({ preset: 'timeouts', scale: 0.5 })).toEqual(
      presetScenario('timeouts', 0.5),
    );
    expect(scenarioRequestSchema.parse({ preset: 'outage' })).toEqual(presetScenario('outage'));
  });

  it('fills in steps as PUT /admin/faults would, and names what is left unnamed', () => {
    expect(
      scenarioRequestSchema.parse({
        steps: [
          { name: 'warm-up', durationMs: 100, faults: {} },
          { durationMs: 3_600_000, faults: { errorRate: 0.5, latencyMs: 20 } },
          { durationMs: 200, faults: { errorStatus: 502 } },
        ],
      }),
    ).toEqual({
      name: 'custom',
      repeat: 1,
      steps: [
        { name: 'warm-up', durationMs: 100, faults: HEALTHY },
        {
          name: 'error_rate-latency',
          durationMs: 3_600_000,
          faults: faults({ errorRate: 0.5, latencyMs: 20 }),
        },
        { name: 'healthy', durationMs: 200, faults: faults({ errorStatus: 502 }) },
      ],
    });
  });

  it('keeps a given name and repeat', () => {
    expect(
      scenarioRequestSchema.parse({
        name: 'my_run-2',
        repeat: 3,
        steps: [{ durationMs: 100, faults: { down: true } }],
      }),
    ).toMatchObject({ name: 'my_run-2', repeat: 3 });
  });

  it('refuses more than 1000 steps once repeated', () => {
    const steps = Array.from({ length: 11 }, () => ({ durationMs: 100, faults: {} }));
    expect(scenarioRequestSchema.safeParse({ steps, repeat: 90 }).success).toBe(true);
    const result = scenarioRequestSchema.safeParse({ steps, repeat: 91 });
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        path: ['repeat'],
        message: 'expected at most 1000 steps in all once repeated (got 11 steps × 91 = 1001)',
      }),
    ]);
  });
});
