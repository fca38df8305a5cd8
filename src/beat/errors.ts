import { CeleriacError } from '../errors';
import type { FieldError } from './schedule';

/** A periodic task that cannot be saved. Carries every problem, each with its field, for forms. */
export class PeriodicTaskValidationError extends CeleriacError {
  constructor(readonly errors: FieldError[]) {
    super(`Invalid periodic task: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  }
}

export class PeriodicTaskNotFoundError extends CeleriacError {
  constructor(readonly ref: number | string) {
    super(
      `No periodic task ${typeof ref === 'number' ? `with id ${ref}` : `named '${ref}'`}. List them with PeriodicTaskService.list().`,
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
