/** Units django-celery-beat's IntervalSchedule.period accepts, in the same spelling. */
export type IntervalPeriod = 'days' | 'hours' | 'minutes' | 'seconds' | 'microseconds';

/** django-celery-beat's SolarSchedule.event choices, in the same spelling. */
export type SolarEvent =
  | 'dawn_astronomical'
  | 'dawn_civil'
  | 'dawn_nautical'
  | 'dusk_astronomical'
  | 'dusk_civil'
  | 'dusk_nautical'
  | 'solar_noon'
  | 'sunrise'
  | 'sunset';

/**
 * One periodic task's schedule: exactly one of django-celery-beat's four schedule models.
 * Crontab fields keep Celery's string syntax so rows written by Python stay readable here.
 */
export type ScheduleSpec =
  | { kind: 'interval'; every: number; period: IntervalPeriod }
  | {
      kind: 'crontab';
      minute: string;
      hour: string;
      dayOfWeek: string;
      dayOfMonth: string;
      monthOfYear: string;
      timezone: string;
    }
  | { kind: 'solar'; event: SolarEvent; latitude: number; longitude: number }
  | { kind: 'clocked'; clockedTime: Date };

/**
 * A problem with one property of a ScheduleSpec. `field` is the spec's property name
 * (`dayOfWeek`, not `day_of_week`); `message` does not repeat it, so a form can show the
 * message next to the input it belongs to.
 */
export interface FieldError {
  field: string;
  message: string;
}

export const INTERVAL_PERIODS: readonly IntervalPeriod[] = ['days', 'hours', 'minutes', 'seconds', 'microseconds'];

export const SOLAR_EVENTS: readonly SolarEvent[] = [
  'dawn_astronomical',
  'dawn_nautical',
  'dawn_civil',
  'sunrise',
  'solar_noon',
  'sunset',
  'dusk_civil',
  'dusk_nautical',
  'dusk_astronomical',
];
