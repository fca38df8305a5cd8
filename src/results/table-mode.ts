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
