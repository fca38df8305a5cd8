import { CeleriacError } from '../../errors';
import type { FieldError } from './types';

/** A schedule that cannot be evaluated. Carries every problem at once so a form can show them all. */
export class ScheduleValidationError extends CeleriacError {
  constructor(public readonly errors: FieldError[]) {
    super(`Invalid schedule: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
  }
}

/** A Date argument (such as `after`) that holds no instant, e.g. `new Date('garbage')`. */
export class InvalidInstantError extends CeleriacError {
  constructor(argumentName: string, value: unknown) {
    super(
      `${argumentName} must be a valid Date, got ${value instanceof Date ? 'an Invalid Date' : typeof value}: ` +
        `pass new Date(epochMs) or a Date parsed from an ISO 8601 string.`,
    );
  }
}
