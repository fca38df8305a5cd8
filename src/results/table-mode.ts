import { CeleriacError } from '../errors';
import { djangoResultRelation, djangoResultTables } from './django-tables';
import { celeriacResultTables, type ResultTables } from './tables';

/** Whose tables an app uses: Celeriac's own, or a Django project's (django-celery-results, django-celery-beat). */
export type TableMode = 'celeriac' | 'django';

export function resultTables(mode: TableMode, schema: string): ResultTables {
  return mode === 'django' ? djangoResultTables(schema) : celeriacResultTables(schema);
}

/** What the admin reads task results from: Celeriac's table, or Django's seen with the same columns. */
export function resultRelation(mode: TableMode, schema: string): string {
  return mode === 'django' ? djangoResultRelation(schema) : `"${schema}".celeriac_task_result`;
}

/** Django's tables are not in the schema django mode was given: `manage.py migrate` was not run there. */
export class DjangoTablesMissingError extends CeleriacError {}

const DJANGO_TABLES = [
  'django_celery_results_taskresult',
  'django_celery_results_groupresult',
  'django_celery_beat_periodictask',
  'django_celery_beat_periodictasks',
];

/**
 * In django mode, checks that the Django project's tables are where Celeriac will read them, so a
 * wrong schema fails at `celeriac migrate` with what to do instead of at the first result write.
 */
export async function checkDjangoTables(
  query: (text: string, params: unknown[]) => Promise<any[]>,
  schema: string,
): Promise<void> {
  const rows: { name: string }[] = await query(
    `SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(format('%I.%I', $2::text, name)) IS NULL`,
    [DJANGO_TABLES, schema],
  );
  if (rows.length === 0) return;
  throw new DjangoTablesMissingError(
    `tables: 'django' but schema '${schema}' has no ${rows.map((r) => r.name).join(', ')}: run the Django project's ` +
      '`python manage.py migrate` (django_celery_results and django_celery_beat 2.x in INSTALLED_APPS) on this database, ' +
      "or set `schema` to the schema Django's tables are in",
  );
}
