#!/usr/bin/env node
import { stdout, type Command } from './command';
import { breakerCommand, faultCommand, healCommand } from './commands/fault';
import { loadCommand } from './commands/load';
import { scenarioCommand } from './commands/scenario';
import { statusCommand } from './commands/status';
import { isLabError } from './stack';

const COMMANDS: readonly Command[] = [
  statusCommand,
  faultCommand,
  healCommand,
  loadCommand,
  scenarioCommand,
  breakerCommand,
];

const USAGE = `Usage: npm run lab -- COMMAND [options]

Drives the running circuit-breaker lab (start it with: docker compose up --build --wait).

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(10)}${command.summary}`).join('\n')}

Run "npm run lab -- COMMAND --help" for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    stdout.line(USAGE);
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    process.stderr.write(`lab: unknown command ${JSON.stringify(name)}\n\n${USAGE}\n`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    stdout.line(command.help);
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (error) {
    if (!isLabError(error)) throw error;
    process.stderr.write(`lab ${command.name}: ${error.message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `lab: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 2;
  },
);
