/**
 * Celeriac's public API. Everything else is internal and may change between versions.
 */
// celeriac.ts also holds the `req.celeriac` augmentation of Express's Request, so exporting the
// class brings it into the published types.
import type * as BeatModule from './beat';
import type * as EntitiesModule from './db/entities';
import type * as MigrationsModule from '../migrations';

export { Celeriac } from './celeriac';
export type { CeleriacOptions, RouteOptions } from './config';
export type { SerializerName, CompressionName } from './broker/serializers/codec';
export type { SecurityOptions } from './broker/serializers/auth';
export type { BrokerTransportOptions } from './broker/url';
export { task, taskOf, Task } from './plugin/task';
export type { ApplyOptions, TaskFn, TaskDecorator } from './plugin/task';
export type { TaskCall, TaskCallOf, BulkOptions } from './plugin/bulk';
export type { TaskOptions } from './plugin/options';
export type { TaskContext, RetryOptions } from './plugin/context';
export { AsyncResult } from './results/async-result';
export type { GetOptions } from './results/async-result';
export { EagerResult } from './eager/eager-result';
export { Signature, signature } from './canvas/signature';
export type { SignatureOptions } from './canvas/signature';
export { chain, group, chord, chunks, map, starmap, Chain, Group, Chord } from './canvas/workflows';
export { GroupResult } from './results/async-result';
export type { JoinOptions } from './results/async-result';
export type { TaskResultRow } from './results/store';
// Celery's celery.states, whole: the module holds only what is public (its rules for storing
// states are in state-rules.ts).
export * from './results/states';
export { createEmbeddedDataSource } from './db/embedded';
export { RemoteControl, Inspect } from './plugin/inspect';
export type { BroadcastOptions, Replies, OkOrError } from './plugin/inspect';
export type { TaskInfo as InspectTaskInfo, QueueInfo, StatsReply } from './worker/control-surface';
export type { AutoscaleOptions } from './worker/autoscale';
// From its own module: the admin (Express and every route) loads only when an app calls admin().
export { taskStatusJson } from './admin/task-status';
export type {
  AdminOptions,
  RequestCheck,
  TaskStatusJson,
  TaskErrorJson,
  TaskProgressJson,
  TaskListJson,
  TaskListItemJson,
  TaskDetailJson,
  RegisteredTaskJson,
  WorkerJson,
  QueueJson,
  StatsJson,
  AdminEventJson,
  PeriodicTaskJson,
  PeriodicTaskListJson,
  PeriodicBulkSaveJson,
  ScheduleJson,
  SchedulePreviewJson,
  BeatInstanceJson,
} from './admin';
export { ManualClock } from './beat/clock';
export { PeriodicTaskValidationError, PeriodicTaskNotFoundError, BeatNotMigratedError } from './beat/errors';
export type {
  BeatOptions,
  BeatEvents,
  TickResult,
  SentRun,
  SkippedRun,
  RowError,
  RecoveredBatch,
  Clock,
  PeriodicTaskInput,
  PeriodicTaskView,
  PeriodicTaskListOptions,
  PeriodicTaskRef,
  BeatInstanceView,
  CatchUp,
  ScheduleInput,
  CrontabInput,
  ScheduleSpec,
  FieldError,
  BeatSchedule,
  BeatScheduleEntry,
  BeatEntryOptions,
} from './beat';
export type { Logger, LogLevel, LogFormat } from './log';
// Built by celeriac.worker(options) (and `celeriac worker`), so the type is public and the constructor is not.
export type { Worker, WorkerOptions, WorkerEvents } from './worker/worker';
export {
  CeleriacError,
  ConfigError,
  TaskNotRegisteredError,
  DuplicateTaskError,
  BulkSendError,
  EncodeError,
  NotStorableError,
  PayloadTooLargeError,
  MessageDecodeError,
  BrokerUnavailableError,
  NotReplicatedError,
  TimeoutError,
  ResultUnavailableError,
  TaskFailedError,
  TaskRevokedError,
  TimeLimitExceededError,
  SoftTimeLimitExceededError,
  WorkerLostError,
  MaxRetriesExceededError,
} from './errors';

/*
 * Beat, its schedule service, the TypeORM entities and the migrations are exported as getters that load their
 * modules on first use: a worker, or a web process that only sends, never loads TypeORM (295
 * modules), luxon or cron-parser (bench/ANALYSIS.md, issue 21). The getters keep the form Node's
 * CommonJS lexer reads (`get: function () { return a.b; }`), so ES module apps still import them
 * by name (and, as Node reads every export of a CommonJS module for them, load them at once).
 */
function onFirstUse<T extends object>(load: () => T): T {
  let loaded: T | undefined;
  return new Proxy({} as T, { get: (_, key) => (loaded ??= load())[key as keyof T] });
}
const beat = onFirstUse(() => require('./beat') as typeof BeatModule);
const entities = onFirstUse(() => require('./db/entities') as typeof EntitiesModule);
const migrations = onFirstUse(() => require('../migrations') as typeof MigrationsModule);

/** The scheduler (`celeriac beat` runs one; `celeriac.beat()` builds one). */
export declare const Beat: typeof BeatModule.Beat;
export type Beat = BeatModule.Beat;
/** The periodic tasks in the database: list, create, update, enable, run now. */
export declare const PeriodicTaskService: typeof BeatModule.PeriodicTaskService;
export type PeriodicTaskService = BeatModule.PeriodicTaskService;
/** Every TypeORM entity Celeriac defines; add to a host app's DataSource when sharing one. */
export declare const celeriacEntities: Function[];
/** Every Celeriac migration in order; host apps that run their own migrations can append these. */
export declare const celeriacMigrations: typeof MigrationsModule.celeriacMigrations;
Object.defineProperty(exports, 'Beat', {
  enumerable: true,
  get: function () {
    return beat.Beat;
  },
});
Object.defineProperty(exports, 'PeriodicTaskService', {
  enumerable: true,
  get: function () {
    return beat.PeriodicTaskService;
  },
});
Object.defineProperty(exports, 'celeriacEntities', {
  enumerable: true,
  get: function () {
    return entities.celeriacEntities;
  },
});
Object.defineProperty(exports, 'celeriacMigrations', {
  enumerable: true,
  get: function () {
    return migrations.celeriacMigrations;
  },
});
