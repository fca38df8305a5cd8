import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './schema';

/**
 * The beat outbox's run records compressed with lz4 instead of stored raw.
 *
 * Every run a beat claims is written to celeriac_beat_outbox (its ~1.2 KB message, in a JSON
 * array per send group) and deleted once Redis has it. Stored raw (STORAGE EXTERNAL, 0002) a
 * group of 170 runs is ~100 TOAST chunks, each a row and an index entry of the TOAST table,
 * written and then deleted. The records repeat themselves (a message names its task id four
 * times, every message the same task, queue and headers), so lz4 shrinks them ~8x at a cost
 * that is far below writing the chunks: inserting 1,020 runs took 22 ms of Postgres instead of
 * 48 and 149 KB of WAL instead of 1,266 (bench/ANALYSIS.md, "Fourth round", beat1m).
 * pglz, Postgres's default, compressed as well but cost 33 ms (and was what made jsonb slow).
 *
 * Only where the server has lz4 (Postgres 14+, built --with-lz4; PGlite and older servers do
 * not): elsewhere the column stays as 0002 made it, which is correct, only slower.
 */
export class CeleriacBeatOutboxLz41790000000005 implements MigrationInterface {
  name = 'CeleriacBeatOutboxLz41790000000005';

  async up(q: QueryRunner): Promise<void> {
    if (!(await hasLz4(q))) return;
    const s = schemaOf(q);
    await q.query(
      `ALTER TABLE "${s}".celeriac_beat_outbox ALTER COLUMN runs SET STORAGE EXTENDED, ALTER COLUMN runs SET COMPRESSION lz4`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    if (!(await hasLz4(q))) return;
    const s = schemaOf(q);
    await q.query(
      `ALTER TABLE "${s}".celeriac_beat_outbox ALTER COLUMN runs SET STORAGE EXTERNAL, ALTER COLUMN runs SET COMPRESSION DEFAULT`,
    );
  }
}

/** default_toast_compression exists from Postgres 14 on, and lists lz4 only where it was built in. */
async function hasLz4(q: QueryRunner): Promise<boolean> {
  const rows = (await q.query(
    `SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)`,
  )) as unknown[];
  return rows.length > 0;
}
