/**
 * The runtime: what the parts (worker, beat, canvas, admin) are handed instead of the app, as
 * graphile-worker passes its CompiledSharedOptions and Oban its %Config{}. The Celeriac class
 * (../celeriac.ts) is the facade that assembles one and hands it down; no part imports it.
 *
 * May import: config, log, errors, broker (types), results (types), plugin (registry, signals,
 * middleware, control), eager (types). Never the parts above it (worker, beat, canvas, admin, cli) nor the facade.
 */
import type { DataSource } from 'typeorm';
import type { Database } from '../db/database';
import type { Broker } from '../broker';
import type { MessageSigner } from '../broker/signing';
import type { ResolvedConfig, RouteOptions } from '../config';
import type { Logger } from '../log';
import type { EagerResult } from '../eager/eager-result';
import type { Control } from '../plugin/control';
import type { BulkOptions, TaskCall } from '../plugin/bulk';
import type { TaskMiddleware } from '../plugin/middleware-chain';
import type { ApplyOptions } from '../plugin/options';
import type { TaskRegistry } from '../plugin/registry';
import type { Signals } from '../plugin/signals';
import type { AsyncResult } from '../results/async-result';
import type { ResultBackend } from '../results/backend';
import type { ResultStore } from '../results/store';
import type { Clock } from './clock';
import type { PrepareOptions, PreparedMessage } from './prepare';

export type { Clock } from './clock';
export type { PreparedMessage, PrepareOptions } from './prepare';

export interface Runtime {
  readonly config: ResolvedConfig;
  /** The process's task registry (one per process, on globalThis: see ../plugin/registry.ts). */
  readonly registry: TaskRegistry;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly signals: Signals;
  /** Set when config.signing is: signs what this process sends, verifies what its workers take. */
  readonly signer: MessageSigner | undefined;
  /** Whether Postgres is configured: without it there are no results, no worker and no beat. */
  readonly hasDatabase: boolean;
  /** Middleware around every task run, in the order added. */
  readonly taskMiddleware: readonly TaskMiddleware[];
  /** Remote control of the workers (revoke, inspect, broadcast). */
  readonly control: Control;
  /** What AsyncResults and GroupResults read through. */
  readonly resultBackend: ResultBackend;
  /** The broker, connected on first use. */
  broker(): Promise<Broker>;
  /** The TypeORM DataSource, initialised on first use (loads TypeORM: migrations, beat, schedule CRUD). */
  dataSource(): Promise<DataSource>;
  /** Postgres for statements and short transactions (a pg pool; no TypeORM), connected on first use. */
  database(): Promise<Database>;
  results(): Promise<ResultStore>;
  /** Celery's task_routes for a task name. */
  route(name: string): RouteOptions | undefined;
  /** Validate, route and encode one message without sending it; throws before anything is sent. */
  prepare(name: string, args: unknown[], kwargs: Record<string, unknown>, options?: PrepareOptions): PreparedMessage;
  /** Send prepared messages in one round trip (through the publish middleware) and record them as PENDING. */
  sendPrepared(prepared: PreparedMessage[]): Promise<void>;
  /** PENDING rows for messages already handed to the broker (batched, not awaited). */
  recordPending(prepared: PreparedMessage[]): void;
  /** Send one task by name (run it here when config.alwaysEager); resolves once the broker has it. */
  sendTask<R = unknown>(
    name: string,
    args?: unknown[],
    kwargs?: Record<string, unknown>,
    options?: ApplyOptions,
  ): Promise<AsyncResult<R>>;
  /** Send many tasks in chunks, each in one round trip (see Celeriac.sendMany). */
  sendMany<R = unknown>(
    items: readonly TaskCall<readonly unknown[]>[],
    options?: BulkOptions,
  ): Promise<AsyncResult<R>[]>;
  /** Run a task in this process now (Celery's apply()); its result lives in memory. */
  applyEager<R = unknown>(
    name: string,
    args?: unknown[],
    kwargs?: Record<string, unknown>,
    options?: ApplyOptions & { throw?: boolean },
  ): Promise<EagerResult<R>>;
  /** Run `fn` when the app closes (worker, beat and admin close with it), last added first. */
  onClose(fn: () => Promise<void>): void;
}
