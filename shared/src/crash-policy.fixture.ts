/*
 * A process that installs the crash policy, then fails the way argv[2] says:
 * `exception` throws from a timer, `rejection` leaves a promise rejected.
 * Run by crash-policy.test.ts as a real child process.
 */
import { installCrashPolicy } from './crash-policy';
import { createLogger } from './logger';

installCrashPolicy(createLogger({ service: 'crash-test', instance: 'crash-test-1' }));
const kind = process.argv[2];
setTimeout(() => {
  if (kind === 'exception') throw new Error('a bug thrown from a timer');
  if (kind === 'rejection') void Promise.reject(new Error('a promise nobody awaited'));
}, 10);
// Kept alive, as a server would be: only the policy may end it.
setInterval(() => undefined, 1_000);
