/**
 * Reading services' log lines without knowing their logger: JSON lines (pino, winston, bunyan)
 * and plain text (morgan, console.log) alike.
 */

const NOTABLE = [
  // pino's and bunyan's numeric levels: 40 warn, 50 error, 60 fatal
  /"level":\s*(40|50|60)\b/,
  /"(level|severity)":\s*"(warn|warning|error|fatal|critical)"/i,
  /"(statusCode|status)":\s*[45]\d\d\b/,
  // morgan and its kind: "POST /users 400 12.345 ms"
  /\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+\S+\s+(HTTP\/[\d.]+"?\s+)?[45]\d\d\b/,
  /\bstatus(Code)?[=:]\s*[45]\d\d\b/i,
  /\b(error|warn|warning|fatal|exception|unhandled)\b/i,
];

/** A line that says something went wrong: a warning or worse, or an answer of 4xx or 5xx. */
export const notable = (line: string): boolean => NOTABLE.some((p) => p.test(line));

/**
 * When a line was written (epoch ms): the time the engine recorded in front of it (an ISO
 * timestamp after the `instance | ` prefix), else a logger's own `"time"` field.
 */
export function lineTime(line: string): number | undefined {
  const iso = /^(?:\S+ \| )?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\s/.exec(line)?.[1];
  if (iso) return Date.parse(iso);
  const field = /"(?:time|timestamp)":\s*(?:(\d{12,})|"([^"]+)")/.exec(line);
  if (field?.[1]) return Number(field[1]);
  if (field?.[2]) {
    const t = Date.parse(field[2]);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}
