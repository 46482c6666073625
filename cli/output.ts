/** Where commands write: results to stdout, warnings and errors to stderr. */
export interface Output {
  line(text: string): void;
  warn(text: string): void;
  json(value: unknown): void;
  /** Text as it is, line endings included (a CSV report). */
  raw(text: string): void;
}

/** The process's stdout and stderr. */
export const processOutput: Output = {
  line: (text) => process.stdout.write(`${text}\n`),
  warn: (text) => process.stderr.write(`${text}\n`),
  json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  raw: (text) => process.stdout.write(text),
};
