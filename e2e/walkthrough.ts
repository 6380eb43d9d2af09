import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { README_VARIABLES, render, runWalkthrough, WALKTHROUGH } from '@cb-lab/lab/walkthrough';
import { COMPOSE_BREAKER_OPEN_MS, type Stack } from '@cb-lab/testing';

const ROOT = path.resolve(__dirname, '..');

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
      const stack = running();
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
          LAB_ORDERS_URL: stack.orders,
          LAB_PAYMENTS_URLS: Object.values(stack.payments).join(','),
          LAB_GATEWAY_URL: stack.gateway,
          ADMIN_TOKEN: stack.adminToken,
        },
        cwd: ROOT,
      });
      expect(results).toHaveLength(WALKTHROUGH.flatMap((section) => section.steps).length);
    });
  });
}
