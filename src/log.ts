export type LogFormat = 'text' | 'json';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  /**
   * Optional: whether lines of `level` are written (pino's and winston's name). The worker asks
   * before building its per-task lines ("task x[id] succeeded in 0.001s", one a task), and when
   * told false skips them; every other line still comes to log(), which decides. Without it,
   * every per-task line is built and handed to log().
   */
  isLevelEnabled?(level: LogLevel): boolean;
}

/** Whether `logger` wants lines of `level`: true unless it says otherwise. */
export function logs(logger: Logger, level: LogLevel): boolean {
  return logger.isLevelEnabled ? logger.isLevelEnabled(level) : true;
}

/** One line per event: readable text by default, one JSON object per line when asked. */
export function consoleLogger(format: LogFormat = 'text', minLevel: LogLevel = 'info'): Logger {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return {
    isLevelEnabled: (level) => order[level] >= order[minLevel],
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

export const silentLogger: Logger = { log() {}, isLevelEnabled: () => false };
