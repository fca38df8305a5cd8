export type LogFormat = 'text' | 'json';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

/** One line per event: readable text by default, one JSON object per line when asked. */
export function consoleLogger(format: LogFormat = 'text', minLevel: LogLevel = 'info'): Logger {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return {
    log(level, message, fields = {}) {
      if (order[level] < order[minLevel]) return;
      const stream = level === 'error' || level === 'warn' ? process.stderr : process.stdout;
      if (format === 'json') {
        stream.write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }) + '\n');
        return;
      }
      const extra = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      stream.write(`[${new Date().toISOString()}] ${level.toUpperCase()} ${message}${extra ? ' ' + extra : ''}\n`);
    },
  };
}

export const silentLogger: Logger = { log() {} };
