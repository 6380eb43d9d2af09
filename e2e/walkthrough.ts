import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  POISONED_REPLICA,
  README_VARIABLES,
  render,
  runWalkthrough,
  SEED_DEMO,
  WALKTHROUGH,
  type WalkthroughSection,
} from '@cb-lab/lab/walkthrough';
import { COMPOSE_BREAKER_OPEN_MS, type Stack } from '@cb-lab/testing';

const ROOT = path.resolve(__dirname, '..');

/** Runs `sections` of the README's walkthrough against the stack, every claim checked. */
async function play(stack: Stack, sections: readonly WalkthroughSection[]): Promise<void> {
  const host = (url: string) => new URL(url).host;
  const results = await runWalkthrough({
    variables: {
      orders: host(stack.orders),
      payments: host(Object.values(stack.payments)[0] ?? ''),
      gateway: host(stack.gateway),
      loadGenerator: host(stack.loadGenerator),
      token: stack.adminToken,
      openSeconds: Math.ceil(COMPOSE_BREAKER_OPEN_MS / 1_000),
    },
    labCommand: `node ${path.join(ROOT, 'lab/dist/cli.js')}`,
    env: {
      ...process.env,
      // The README's `docker compose` commands act on this stack, started with these variables.
      ...stack.composeEnvironment,
      LAB_ORDERS_URL: stack.orders,
      LAB_PAYMENTS_URLS: Object.values(stack.payments).join(','),
      LAB_GATEWAY_URL: stack.gateway,
      ADMIN_TOKEN: stack.adminToken,
    },
    cwd: ROOT,
    sections,
  });
  expect(results).toHaveLength(sections.flatMap((section) => section.steps).length);
}

/** The README's walkthrough, run step by step against the compose stack, every claim checked. */
export function walkthrough(running: () => Stack): void {
  describe('the README walkthrough on the compose stack', () => {
    it('shows in the README exactly the commands the walkthrough runs', async () => {
      const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
      for (const section of WALKTHROUGH) {
        expect(readme).toContain(`### ${section.title}`);
        for (const step of section.steps)
          expect(readme).toContain(render(step.command, README_VARIABLES));
      }
    });

    it('holds true, step by step', async () => {
      await play(running(), SEED_DEMO);
    });
  });
}

/**
 * The walkthrough's poisoned-replica chapters. They recreate the payments
 * containers (with a quorum, then without), which the handles of the other
 * end-to-end parts do not follow: they run last.
 */
export function poisonedReplicaWalkthrough(running: () => Stack): void {
  describe('the README walkthrough: one replica’s path broken', () => {
    it('holds true, step by step, without and with a quorum', async () => {
      await play(running(), POISONED_REPLICA);
    });
  });
}
