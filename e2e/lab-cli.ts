import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePortRange, type Stack } from '@cb-lab/testing';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'lab/dist/cli.js');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built lab CLI against `stack` (addresses through the environment,
 * as a user would set them), or with every address pointing at `stack` when
 * it is a URL.
 */
export function runLab(
  stack: Stack | string,
  args: string[],
  timeoutMs = 120_000,
): Promise<CliResult> {
  const env = {
    ...process.env,
    ...(typeof stack === 'string'
      ? { LAB_ORDERS_URL: stack, LAB_PAYMENTS_URLS: stack, LAB_GATEWAY_URL: stack }
      : {
          LAB_ORDERS_URL: stack.orders,
          LAB_PAYMENTS_URLS: Object.values(stack.payments).join(','),
          LAB_GATEWAY_URL: stack.gateway,
          LAB_PROMETHEUS_URL: stack.prometheus,
          ADMIN_TOKEN: stack.adminToken,
        }),
  };
  return new Promise((resolve) => {
    execFile(
      'node',
      [CLI, ...args],
      { env, cwd: ROOT, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The lab command line, driven as a user would, against the compose stack. */
export function labCli(running: () => Stack): void {
  describe('the lab command line on the compose stack', () => {
    it('explains every command with --help', async () => {
      const usage = await runLab(running(), ['--help']);
      expect(usage.code).toBe(0);
      for (const command of ['status', 'fault', 'heal', 'load', 'scenario', 'breaker']) {
        expect(usage.stdout).toContain(command);
        const help = await runLab(running(), [command, '--help']);
        expect(help.code).toBe(0);
        expect(help.stdout).toContain(`Usage: npm run lab -- ${command}`);
      }
    });

    it('says clearly when the stack is not up, and when an argument is wrong', async () => {
      const [closedPort] = await freePortRange(1);
      const down = await runLab(`http://127.0.0.1:${closedPort}`, ['status']);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(
        /^lab status: Cannot reach (payments|payment-gateway) at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Is the stack up\? Start it with: docker compose up --build --wait$/m,
      );
      const wrong = await runLab(running(), ['fault', '--error-rate', '3']);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('--error-rate: expected a number from 0 to 1 (got "3")');
      const unknown = await runLab(running(), ['explode']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('unknown command "explode"');
    });

    it('shows the breaker of every replica and the gateway faults, sets faults and heals', async () => {
      const faulted = await runLab(running(), [
        'fault',
        '--latency',
        '200ms',
        '--error-rate',
        '0.5',
      ]);
      expect(faulted.stdout).toContain(
        'gateway faults: 50% answer 503, +200ms latency (±0ms jitter)',
      );
      const status = await runLab(running(), ['status']);
      expect(status.code).toBe(0);
      expect(
        status.stdout.split('\n').filter((line) => /\shttp:\/\/127\.0\.0\.1:\d+\s/.test(line)),
      ).toHaveLength(3);
      expect(status.stdout).toContain('as Redis holds it:');
      expect(status.stdout).toMatch(/^Redis: standalone; the breaker's state is on [\d.]+:6379$/m);
      expect(status.stdout).toContain('gateway faults: 50% answer 503');
      const scoped = await runLab(running(), [
        'fault',
        '--latency',
        '50ms',
        '--replica',
        'not-a-running-replica',
      ]);
      expect(scoped.stdout).toMatch(
        /^gateway faults: \+50ms latency \(±0ms jitter\), for replica not-a-running-replica only \(reaching none of \d+ callers heard in the last minute\)$/m,
      );
      const scopedStatus = await runLab(running(), ['status']);
      expect(scopedStatus.stdout).toContain('for replica not-a-running-replica only');
      const healed = await runLab(running(), ['heal']);
      expect(healed.stdout).toContain('gateway faults: healthy');

      const isolated = await runLab(running(), [
        'breaker',
        'isolate',
        '--for',
        '10m',
        '--reason',
        'lab e2e',
      ]);
      expect(isolated.stdout).toMatch(
        /^isolated until [\d:.]+ \(in (9m \d+s|10m 0s)\), then it closes by itself: lab e2e$/m,
      );
      expect((await runLab(running(), ['status'])).stdout).toMatch(/^isolated until .*: lab e2e$/m);
      expect((await runLab(running(), ['breaker', 'reset'])).code).toBe(0);
    });

    it('sends load at a rate and prints progress and a summary', async () => {
      const load = await runLab(running(), ['load', '--rate', '20', '--duration', '3s']);
      expect(load.code).toBe(0);
      expect(load.stdout).toMatch(/^t=1s .*\/s .*p50 .*p95 .*p99 /m);
      // The run lasts 3 s plus the time the last orders take to answer: no bound on a busy machine.
      expect(load.stdout).toMatch(/^\d+ orders in \d+\.\ds: paid \d+/m);
      expect(load.stdout).toMatch(/^latency p50 \S+ {2}p95 \S+ {2}p99 \S+ {2}max \S+$/m);
    });

    it('runs the outage scenario under load and reports it, with a chart', async () => {
      await runLab(running(), ['breaker', 'reset']);
      const chart = path.join(await mkdtemp(path.join(tmpdir(), 'lab-')), 'outage.svg');
      // The outage compressed 20 times (4.5 s), then long enough after healing for the breaker to close.
      const scenario = await runLab(running(), [
        'scenario',
        'outage',
        '--scale',
        '0.05',
        '--rate',
        '20',
        '--settle',
        '8s',
        '--chart',
        chart,
      ]);
      expect(scenario.stderr).toBe('');
      expect(scenario.code).toBe(0);
      const report = scenario.stdout;
      expect(report).toMatch(/^Scenario outage: \d+ orders over/m);
      expect(report).toMatch(/^healthy\s+0\.0s/m);
      expect(report).toMatch(/^down\s+/m);
      expect(report).toMatch(/^after\s+/m);
      const timelines = report
        .split('\n')
        .filter((line) => /^ {2}\S+: 0\.\ds closed → /.test(line));
      expect(timelines).toHaveLength(3);
      for (const line of timelines) expect(line).toMatch(/→ [\d.]+s open → .*[\d.]+s closed$/);
      expect(report).toMatch(/^Time to open after the first fault: (\S+ [\d.]+s(, )?){3}$/m);
      expect(report).toMatch(/^Time to close after the gateway healed: (\S+ [\d.]+s(, )?){3}$/m);
      const svg = await readFile(chart, 'utf8');
      expect(svg).toContain('<svg');
      expect(svg.match(/class="state open"/g)?.length).toBeGreaterThanOrEqual(3);
    });
  });
}
