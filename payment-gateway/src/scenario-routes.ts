import { parseInput } from '@cb-lab/shared';
import { Router } from 'express';
import type { ScenarioRunner } from './scenario-runner';
import {
  PRESET_DESCRIPTIONS,
  PRESET_NAMES,
  presetScenario,
  scenarioDurationMs,
  scenarioRequestSchema,
} from './scenarios';

/**
 * The timed fault scenarios of the admin API, to be mounted behind the admin
 * token guard beside the fault routes:
 *
 * - `GET /scenarios` lists the presets with their steps at scale 1;
 * - `POST /scenario` starts a preset (`{"preset", "scale"?}`) or a list of steps
 *   (`{"name"?, "steps", "repeat"?}`), replacing any running scenario, and answers
 *   201 with its status;
 * - `GET /scenario` answers the status: the running scenario, or the last one;
 * - `DELETE /scenario` stops the running scenario and heals the gateway.
 */
export function scenarioRouter(runner: ScenarioRunner): Router {
  const router = Router();

  router.get('/scenarios', (_req, res) => {
    res.json({
      presets: PRESET_NAMES.map((name) => {
        const scenario = presetScenario(name);
        return {
          name,
          description: PRESET_DESCRIPTIONS[name],
          durationMs: scenarioDurationMs(scenario),
          steps: scenario.steps,
        };
      }),
    });
  });

  router.post('/scenario', (req, res) => {
    const scenario = parseInput(scenarioRequestSchema, req.body);
    res.status(201).location(`${req.baseUrl}/scenario`).json(runner.start(scenario));
  });

  router.get('/scenario', (_req, res) => {
    res.json(runner.status());
  });

  router.delete('/scenario', (_req, res) => {
    res.json(runner.stop());
  });

  return router;
}
