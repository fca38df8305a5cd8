/**
 * Beat: the database-driven scheduler (django-celery-beat's tables and DatabaseScheduler, sending
 * each run once with any number of beats). See README.md in this folder.
 */
export { Beat } from './beat';
export type { BeatEvents, SentRun, SkippedRun, RowError, RecoveredBatch, TickResult } from './events';
export type { BeatOptions } from './options';
export { ManualClock, systemClock } from './clock';
export type { Clock } from './clock';
export { PeriodicTaskService } from './service';
export type { PeriodicTaskView, PeriodicTaskListOptions, PeriodicTaskRef, BeatInstanceView } from './service';
export type { PeriodicTaskInput, CatchUp } from './validation';
export type { ScheduleInput, CrontabInput } from './schedule-input';
export type { BeatSchedule, BeatScheduleEntry, BeatEntryOptions } from './config';
export { PeriodicTaskValidationError, PeriodicTaskNotFoundError, BeatNotMigratedError } from './errors';
export { runTaskId } from './task-id';
export { nextRunAfter, nextRuns, describeSchedule, validateSchedule, ScheduleValidationError } from './schedule';
export type { ScheduleSpec, FieldError, IntervalPeriod, SolarEvent } from './schedule';
