import { spawn } from 'node:child_process';
import path from 'node:path';

/** Runs the crash fixture as a real process; resolves with its exit code and the JSON lines it logged. */
function runCrashing(kind: 'exception' | 'rejection') {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'crash-policy.fixture.ts'), kind],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  return new Promise<{ code: number | null; lines: Record<string, unknown>[] }>((resolve) => {
    child.on('exit', (code) => {
      const lines = stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      resolve({ code, lines });
    });
  });
}

jest.setTimeout(30_000);

describe('the crash policy', () => {
  it.each([
    ['an uncaught exception', 'exception', 'uncaught exception', 'a bug thrown from a timer'],
    [
      'an unhandled rejection',
      'rejection',
      'unhandled promise rejection',
      'a promise nobody awaited',
    ],
  ] as const)('logs %s with its stack, then exits 1', async (_case, kind, what, message) => {
    const { code, lines } = await runCrashing(kind);

    expect(code).toBe(1);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'error',
        message: `${what}; exiting so the process is restarted`,
        service: 'crash-test',
        error: expect.objectContaining({
          message,
          stack: expect.stringContaining('crash-policy.fixture.ts'),
        }) as unknown,
      }),
    ]);
  });
});
