/** How a /diagnose call (or a refused request) was answered. */
export type Delivery = 'live' | 'cached' | 'unauthorised' | 'spaced' | 'stopping' | 'error';

/** One line per call: who asked, what they got, how long it took. Never a header, so never the token. */
interface AuditEntry {
  path: string;
  remote: string;
  status: number;
  delivery: Delivery;
  durationMs: number;
}

export type Audit = (entry: AuditEntry) => void;

interface InfoLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export function auditTo(logger: InfoLogger): Audit {
  return (e) => {
    const durationMs = Math.round(e.durationMs);
    const line = `${e.path} ${e.status} ${e.delivery} ${durationMs} ms from ${e.remote}`;
    // Refusals at warn: a scan for the token stands out from on-call's own calls.
    const level = e.status === 401 ? 'warn' : 'info';
    logger[level]({ audit: e.path, ...e, durationMs }, line);
  };
}
