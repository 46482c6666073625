/**
 * The end of a child process's stderr, kept for the one line a failure quotes (the query and comparison processes).
 * Only whole lines are quoted, and only short ones: the line is masked later, with the step's other output, and a
 * line cut anywhere could hold part of a secret that the mask, looking for the whole value, would then miss.
 */
export class StderrTail {
  private text = '';
  private cut = false;

  constructor(
    private readonly max = 4000,
    private readonly longestLine = 500,
  ) {}

  add(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.max) {
      this.text = this.text.slice(-this.max);
      this.cut = true;
    }
  }

  /** The last line written, whole, or undefined: none was written, or it is too long to quote. */
  lastLine(): string | undefined {
    const text = this.text.trimEnd();
    const at = text.lastIndexOf('\n');
    if (at < 0 && this.cut) return undefined;
    const line = text.slice(at + 1).trim();
    return line && line.length <= this.longestLine ? line : undefined;
  }
}
