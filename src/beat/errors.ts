import { CeleriacError } from '../errors';
import type { FieldError } from './schedule';

/** A periodic task that cannot be saved. Carries every problem, each with its field, for forms. */
export class PeriodicTaskValidationError extends CeleriacError {
  constructor(readonly errors: FieldError[]) {
    super(`Invalid periodic task: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  }
}

export class PeriodicTaskNotFoundError extends CeleriacError {
  /** `ref`: the id or name asked for, or every id of a bulk call that matched nothing. */
  constructor(readonly ref: number | string | number[]) {
    super(
      `No periodic task ${typeof ref === 'string' ? `named '${ref}'` : `with id ${[ref].flat().join(', ')}`}${Array.isArray(ref) ? '; nothing was changed' : ''}. List them with PeriodicTaskService.list().`,
    );
  }
}

/** The beat tables are missing: the database was not migrated to this version. */
export class BeatNotMigratedError extends CeleriacError {
  constructor(schema: string, options?: { cause?: unknown }) {
    super(
      `The beat tables are missing in schema '${schema}': run \`celeriac migrate --app <module>\` (or await app.migrate()) ` +
        `before starting beat.`,
      options,
    );
  }
}
