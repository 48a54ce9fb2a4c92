import { ConfigError } from './errors';

/**
 * nginx slot parsers: sizes (`512`, `32k`, `1m`, `1g`), times (`500ms`,
 * `30s`, `1h 30m` written as `1h30m`), flags (`on`/`off`). Each returns
 * undefined for a malformed value so the caller can name the directive.
 */
const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 };

export function parseSize(text: string): number | undefined {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()];
}

const TIME_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  M: 2_592_000_000,
  y: 31_536_000_000,
};

/** Milliseconds; a bare number means seconds, as nginx's ngx_parse_time(..., 1). */
export function parseTime(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const re = /(\d+)(ms|[smhdwMy])/g;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m.index !== consumed) return undefined;
    total += Number(m[1]) * TIME_UNITS[m[2]];
    consumed = re.lastIndex;
  }
  if (consumed !== text.length || consumed === 0) return undefined;
  return total;
}

export function parseFlag(text: string): boolean | undefined {
  if (text === 'on') return true;
  if (text === 'off') return false;
  return undefined;
}

/** An on|off argument of directive `name`, with nginx's error for anything else. */
export function flagArg(name: string, text: string): boolean {
  const on = parseFlag(text);
  if (on === undefined) throw new ConfigError(`invalid value "${text}" in "${name}" directive, it must be "on" or "off"`);
  return on;
}

export function parseCount(text: string): number | undefined {
  return /^\d+$/.test(text) ? Number(text) : undefined;
}
