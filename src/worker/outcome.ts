import { scrubText } from '../storable';
/** What running a task came to, in either pool; the worker turns it into a state and a broker op. */
export type Outcome =
  | { kind: 'success'; result: unknown; runtimeMs: number }
  | { kind: 'failure'; exc: SerializedError; runtimeMs: number }
  /** `countdownMs` < 0: use the task's backoff rule. `auto`: raised by autoretryFor, not ctx.retry(). */
  | {
      kind: 'retry';
      countdownMs: number;
      etaMs?: number;
      exc: SerializedError | null;
      auto: boolean;
      maxRetries?: number;
      runtimeMs: number;
    }
  | { kind: 'revoked'; reason: string; runtimeMs: number };

/** Celery's exception encoding in results ({exc_type, exc_message, exc_module}), plus the stack. */
export interface SerializedError {
  exc_type: string;
  exc_message: string[];
  exc_module: string;
  traceback: string | null;
}

/**
 * Error text is diagnostics, not data: what Postgres cannot hold in it (U+0000, a lone surrogate)
 * is replaced with U+FFFD rather than failing the task's FAILURE row (src/storable.ts).
 */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const name = typeof err.name === 'string' && err.name !== 'Error' && err.name ? err.name : err.constructor?.name;
    return {
      exc_type: scrubText(String(name || 'Error')),
      exc_message: [scrubText(String(err.message))],
      exc_module: 'js',
      traceback: typeof err.stack === 'string' ? scrubText(err.stack) : null,
    };
  }
  return {
    exc_type: 'Error',
    exc_message: [scrubText(typeof err === 'string' ? err : safeJson(err))],
    exc_module: 'js',
    traceback: null,
  };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
