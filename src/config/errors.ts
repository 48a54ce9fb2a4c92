/**
 * One catalogue of config failures. Handlers throw a short phrase; the core
 * adds the location and renders nginx's one line:
 *   metricproxy: [emerg] <what> in <file>:<line>
 */
export class ConfigError extends Error {
  constructor(
    message: string,
    public file?: string,
    public line?: number,
  ) {
    super(message);
    this.name = 'ConfigError';
  }

  /** Attach a location if the thrower did not know it. */
  at(file: string, line: number): this {
    if (this.file === undefined) {
      this.file = file;
      this.line = line;
    }
    return this;
  }

  render(): string {
    const where = this.file !== undefined ? ` in ${this.file}:${this.line}` : '';
    return `metricproxy: [emerg] ${this.message}${where}`;
  }
}

export interface ConfigWarning {
  message: string;
  file: string;
  line: number;
}

export function renderWarning(w: ConfigWarning): string {
  return `metricproxy: [warn] ${w.message} in ${w.file}:${w.line}`;
}
