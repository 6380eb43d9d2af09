import { faultMatrix } from './fault-matrix';
import { labCli } from './lab-cli';
import { observability } from './observability';
import { security } from './security';
import { sharedBreaker } from './shared-breaker';
import { startStack, type Stack } from '@cb-lab/testing';
import { walkingSkeleton } from './walking-skeleton';
import { poisonedReplicaWalkthrough, walkthrough } from './walkthrough';

// One stack for the whole suite: building the images and starting it is the slow part.
jest.setTimeout(15 * 60_000);

let stack: Stack | undefined;
const running = (): Stack => {
  if (!stack) throw new Error('the stack did not start');
  return stack;
};

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.down();
});

// In this order: the skeleton expects a healthy, closed breaker; the outage leaves it healed;
// the walkthrough pauses the background load, the CLI tests run after it.
walkingSkeleton(running);
sharedBreaker(running);
walkthrough(running);
labCli(running);
observability(running);
faultMatrix(running);
// It reads the logs of the whole run for secrets, before the payments containers are recreated.
security(running);
// Last: it recreates the payments containers, which the other parts' container handles do not follow.
poisonedReplicaWalkthrough(running);
