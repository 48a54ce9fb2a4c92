/**
 * One catalogue of config failures. Handlers throw a short phrase; the core
 * adds the location and renders nginx's one line:
 *   metricproxy: [emerg] <what> in <file>:<line>
 */
/** The pseudo file of `-g` directives; nginx names no line for it. */
export const COMMAND_LINE = 'command line';

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

  /** One line, always: control bytes from the config (a quoted name may hold a newline) are escaped. */
  render(): string {
    const where = this.file === COMMAND_LINE ? ` in ${COMMAND_LINE}` : this.file !== undefined ? ` in ${this.file}:${this.line}` : '';
    return `metricproxy: [emerg] ${escapeControls(this.message)}${where}`;
  }
}

const CONTROL_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeControls(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => CONTROL_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export interface ConfigWarning {
  message: string;
  file: string;
  line: number;
}

/** nginx's warning for a directive metricproxy accepts and ignores. */
export function ignoredDirective(d: { name: string; file: string; line: number }): ConfigWarning {
  return { message: `"${d.name}" directive is ignored by metricproxy`, file: d.file, line: d.line };
}

export function renderWarning(w: ConfigWarning): string {
  return `metricproxy: [warn] ${w.message} in ${w.file}:${w.line}`;
}
