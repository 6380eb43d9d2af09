import { execFile } from 'node:child_process';
import { WALKTHROUGH, type WalkthroughSection, type WalkthroughStep } from './steps';

/** What the templates are filled with. */
export interface WalkthroughVariables {
  orders: string;
  payments: string;
  gateway: string;
  loadGenerator: string;
  token: string;
  openSeconds: number;
}

/** The lab's defaults under `docker compose up`: what the README shows. */
export const README_VARIABLES: WalkthroughVariables = {
  orders: 'localhost:8080',
  payments: 'localhost:8081',
  gateway: 'localhost:8090',
  loadGenerator: 'localhost:8070',
  token: 'lab-admin-token-change-me',
  openSeconds: 10,
};

export function render(template: string, variables: WalkthroughVariables): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) =>
    name in variables ? String(variables[name as keyof WalkthroughVariables]) : whole,
  );
}

export interface StepResult {
  section: string;
  step: WalkthroughStep;
  output: string;
}

export interface RunOptions {
  variables: WalkthroughVariables;
  /** How to run the lab CLI where the README says `npm run lab --` (e.g. `node lab/dist/cli.js`). */
  labCommand: string;
  /** Environment for the commands: the LAB_* addresses and ADMIN_TOKEN the CLI reads. */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The chapters to run, in order: every one by default. */
  sections?: readonly WalkthroughSection[];
  onStep?: (result: StepResult) => void;
}

function runShell(command: string, env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-o', 'pipefail', '-c', command],
      { env, cwd, timeout: 120_000 },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`.trimEnd();
        if (error)
          reject(
            new Error(`command failed (${error.message}):\n${command}\n--- output ---\n${output}`),
          );
        else resolve(output);
      },
    );
  });
}

/**
 * Runs every step of the walkthrough in order and checks each output
 * against the step's claim; the first claim that does not hold stops it.
 */
export async function runWalkthrough({
  variables,
  labCommand,
  env,
  cwd,
  sections = WALKTHROUGH,
  onStep,
}: RunOptions): Promise<StepResult[]> {
  const results: StepResult[] = [];
  const memory: Record<string, number> = {};
  for (const section of sections) {
    for (const step of section.steps) {
      const command = render(step.command, variables).replaceAll('npm run lab --', labCommand);
      const output = await runShell(command, env, cwd);
      step.check(output, memory);
      const result = { section: section.title, step, output };
      results.push(result);
      onStep?.(result);
    }
  }
  return results;
}

/** The walkthrough as Markdown: each section's text, command (with the README's addresses) and real output. */
export function toMarkdown(results: readonly StepResult[]): string {
  const lines: string[] = [];
  let section = '';
  for (const { section: title, step, output } of results) {
    if (title !== section) {
      lines.push(`### ${title}`, '');
      section = title;
    }
    lines.push(
      render(step.text, README_VARIABLES),
      '',
      '```sh',
      render(step.command, README_VARIABLES),
      '```',
      '',
    );
    if (output !== '') lines.push('```', output, '```', '');
  }
  return lines.join('\n');
}
