/**
 * The opt-in change signal on Django's tables (`celeriac migrate --django-trigger`): a statement
 * trigger on django_celery_beat_periodictasks, the row Django's ORM updates on every save or
 * delete of a periodic task, that NOTIFYs the channel beat already LISTENs on. With it a
 * listening beat mirrors an edit made in Django's admin at once, and stops reading last_update
 * every second. It is the only object Celeriac ever puts on a Django table, so it is never
 * installed without being asked for, and `--django-trigger off` removes it.
 */
import type { TxQuery } from './db';

const TRIGGER = 'celeriac_django_beat_notify';

export async function installDjangoTrigger(q: TxQuery, schema: string): Promise<void> {
  await q(`CREATE OR REPLACE FUNCTION "${schema}".${TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('celeriac_beat', TG_TABLE_SCHEMA);
      RETURN NULL;
    END $$`);
  await q(`DROP TRIGGER IF EXISTS ${TRIGGER} ON "${schema}".django_celery_beat_periodictasks`);
  await q(`CREATE TRIGGER ${TRIGGER} AFTER INSERT OR UPDATE ON "${schema}".django_celery_beat_periodictasks
           FOR EACH STATEMENT EXECUTE FUNCTION "${schema}".${TRIGGER}()`);
}

export async function removeDjangoTrigger(q: TxQuery, schema: string): Promise<void> {
  await q(`DROP TRIGGER IF EXISTS ${TRIGGER} ON "${schema}".django_celery_beat_periodictasks`);
  await q(`DROP FUNCTION IF EXISTS "${schema}".${TRIGGER}()`);
}

export async function hasDjangoTrigger(q: TxQuery, schema: string): Promise<boolean> {
  const rows: unknown[] = await q(
    `SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = to_regclass(format('%I.%I', $2::text, 'django_celery_beat_periodictasks'))`,
    [TRIGGER, schema],
  );
  return rows.length > 0;
}
