// JSON logs (pino) carrying the active trace and span ids, so a log line leads to its trace. Personal data never
// belongs in a log call; the redaction below is the safety net for fields that carry it.
import { trace } from '@opentelemetry/api';
import { pino } from 'pino';

export type Logger = pino.Logger;

const PERSONAL_FIELDS = ['text', 'body', 'description', 'email', 'phone', 'address', 'target', 'to', 'contacts'];

export const REDACT_PATHS = PERSONAL_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);

export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
  });
}
