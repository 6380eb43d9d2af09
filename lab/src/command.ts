/** One `lab` command: its help text and what it does with its arguments. */
export interface Command {
  name: string;
  summary: string;
  /** Full help, shown by `lab COMMAND --help`. */
  help: string;
  run(argv: string[]): Promise<void>;
}

/** Where commands print: a seam so tests can read what a command said. */
export interface Output {
  line(text: string): void;
  /** A line that replaces itself on a terminal (progress), or a plain line elsewhere. */
  progress(text: string): void;
}

export const stdout: Output = {
  line: (text) => {
    if (process.stdout.isTTY) process.stdout.write('\r\x1b[2K');
    process.stdout.write(`${text}\n`);
  },
  progress: (text) => {
    if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2K${text}`);
    else process.stdout.write(`${text}\n`);
  },
};
