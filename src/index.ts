/**
 * Celeriac's public API. Everything else is internal and may change between versions.
 */
// celeriac.ts also holds the `req.celeriac` augmentation of Express's Request, so exporting the
// class brings it into the published types.
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
export {
  States,
  READY_STATES,
  EXCEPTION_STATES,
  PROPAGATE_STATES,
  PRECEDENCE,
  precedence,
  isHigherState,
  states,
  InvalidStateError,
} from './results/states';
export type { TaskState, TaskStatus } from './results/states';
export { celeriacMigrations } from '../migrations';
export { celeriacEntities } from './db/entities';
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
export {
  Beat,
  PeriodicTaskService,
  ManualClock,
  PeriodicTaskValidationError,
  PeriodicTaskNotFoundError,
  BeatNotMigratedError,
} from './beat';
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
