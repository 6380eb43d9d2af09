import { adminTokenSchema, env, serviceConfigShape } from '@cb-lab/shared';
import { MAX_LOAD_RATE } from '@cb-lab/contracts';
import { z } from 'zod';

export const loadGeneratorConfigSchema = z.object({
  ...serviceConfigShape,
  ORDERS_URL: env.url({ protocols: ['http:', 'https:'], default: 'http://localhost:8080' }),
  /** Orders per second; 0 starts it paused. */
  LOAD_RATE: env.number({ min: 0, max: MAX_LOAD_RATE, default: 2 }),
  ADMIN_TOKEN: adminTokenSchema,
});

export type LoadGeneratorConfig = z.output<typeof loadGeneratorConfigSchema>;
