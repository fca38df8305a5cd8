import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { Client } from 'pg';
import { DATABASE_URL } from './helpers';

/**
 * The shared Postgres server's own log, read from where it is when the test starts, so a test can
 * look for what Postgres said about its statements (a deadlock is retried and invisible to the
 * client, but Postgres logs it). Found through pg_current_logfile() when the logging collector runs,
 * else at Debian's /var/log/postgresql/postgresql-<major>-main.log. `null` when neither can be read;
 * callers then fall back on pg_stat_database counters.
 */
export interface ServerLog {
  file: string;
  /** Lines written since this was opened. */
  newLines(): string[];
}

export async function openServerLog(): Promise<ServerLog | null> {
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  try {
    const candidates: string[] = [];
    const current = await pg
      .query(`SELECT pg_current_logfile() AS f, current_setting('data_directory') AS d`)
      .catch(() => null);
    const file = current?.rows[0]?.f as string | null | undefined;
    if (file) candidates.push(file.startsWith('/') ? file : `${current!.rows[0].d}/${file}`);
    const { rows } = await pg.query(`SELECT current_setting('server_version_num')::int / 10000 AS major`);
    candidates.push(`/var/log/postgresql/postgresql-${rows[0].major}-main.log`);
    for (const path of candidates) {
      try {
        const start = statSync(path).size;
        closeSync(openSync(path, 'r'));
        return { file: path, newLines: () => readFrom(path, start) };
      } catch {
        // not there or not readable: try the next
      }
    }
    return null;
  } finally {
    await pg.end();
  }
}

function readFrom(path: string, start: number): string[] {
  const size = statSync(path).size;
  if (size <= start) return [];
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    return buf.toString('utf8').split('\n');
  } finally {
    closeSync(fd);
  }
}

/**
 * Deadlocks Postgres reported whose statements touched `schema`: the ERROR line and the few lines
 * after it (DETAIL names both processes' queries, STATEMENT the victim's).
 */
export function deadlocksIn(lines: string[], schema: string): string[] {
  const found: string[] = [];
  lines.forEach((line, i) => {
    if (!line.includes('deadlock detected')) return;
    const context = lines.slice(i, i + 12).join('\n');
    if (context.includes(`"${schema}"`) || context.includes(`${schema}.`)) found.push(context);
  });
  return found;
}

/** Deadlocks Postgres counted in the test database so far (every schema: other tests' too). */
export async function deadlockCount(): Promise<number> {
  const pg = new Client({ connectionString: DATABASE_URL });
  await pg.connect();
  try {
    const { rows } = await pg.query(
      `SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()`,
    );
    return rows[0].n;
  } finally {
    await pg.end();
  }
}
