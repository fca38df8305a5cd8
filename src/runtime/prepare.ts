/**
 * Turning a call into a message, without sending it: validation, Celery's routing precedence,
 * encoding and the size bound. Pure apart from the clock and the id it mints, so the app, beat,
 * work-flows and the worker (a retry, a chain's next link) all prepare messages the same way and
 * can send several, or send and ack, as one step.
 */
import { randomUUID } from 'node:crypto';
import type { OutgoingMessage } from '../broker';
import { encodeTask, type Embed } from '../broker/message';
import { sendEncoding } from '../broker/serializers/options';
import type { MessageSigner } from '../broker/signing';
import { requireName, type ResolvedConfig, type RouteOptions } from '../config';
import { EncodeError, NotStorableError, PayloadTooLargeError, shown, TaskNotRegisteredError } from '../errors';
import type { ApplyOptions } from '../plugin/options';
import type { TaskRegistry } from '../plugin/registry';
import type { PublishInfo, Signals } from '../plugin/signals';
import type { StateUpdate } from '../results/store';
import { columnProblem, COLUMN_LIMITS } from '../storable';
import { checkSendOptions } from './send-options';
import type { Clock } from './clock';

/** A validated, encoded message not yet sent. */
export interface PreparedMessage {
  id: string;
  name: string;
  info: PublishInfo;
  outgoing: OutgoingMessage;
  pending: StateUpdate | null;
}

/** A call's options, plus what a worker embeds when it continues a work-flow. */
export type PrepareOptions = ApplyOptions & { embed?: Partial<Embed> };

/** What preparing reads: the app's settings, its tasks, its before-publish hooks and its signer. */
export interface PrepareContext {
  readonly config: ResolvedConfig;
  readonly registry: TaskRegistry;
  readonly signals: Signals;
  readonly signer: MessageSigner | undefined;
  readonly hasDatabase: boolean;
  readonly clock: Clock;
}

export function prepareMessage(
  ctx: PrepareContext,
  name: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  options: PrepareOptions = {},
): PreparedMessage {
  const { config } = ctx;
  const task = ctx.registry.get(name);
  const route = routeOf(config.routes, name);
  if (!task && !route) throw new TaskNotRegisteredError(name, ctx.registry.names());
  if (!Array.isArray(args))
    throw new EncodeError(
      `args of '${name}' must be an array, got ${typeof args}: use sendTask(name, [a, b], { key: value }).`,
    );
  if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
    throw new EncodeError(
      `kwargs of '${name}' must be a plain object, got ${Array.isArray(kwargs) ? 'an array' : typeof kwargs}.`,
    );
  }
  const now = ctx.clock.now();
  const id = options.taskId ?? randomUUID();
  assertStorableIds(name, id, options);
  // Celery's precedence: the call's options, then the route, then the task's own defaults.
  // Routes, task options and the default queue were checked with the config; a call's own is checked here.
  if (options.queue !== undefined) requireName('options.queue', options.queue);
  checkSendOptions(options);
  const queue = options.queue ?? route?.queue ?? task?.options.queue ?? config.defaultQueue;
  const priority = options.priority ?? route?.priority ?? task?.options.priority ?? 0;
  const eta = options.eta ?? (options.countdown !== undefined ? new Date(now + options.countdown * 1000) : null);
  const expiresOpt = options.expires ?? task?.options.expires;
  const expires =
    expiresOpt === undefined ? null : expiresOpt instanceof Date ? expiresOpt : new Date(now + expiresOpt * 1000);
  const ignoreResult = options.ignoreResult ?? task?.options.ignoreResult ?? false;
  // sent_at lets the worker record when the task was created even if it writes the row first.
  const headers: Record<string, unknown> = { ...options.headers, sent_at: new Date(now).toISOString() };
  if (options.periodicTaskName) headers.periodic_task_name = options.periodicTaskName;
  // Celery lets before_task_publish handlers change the headers; the message is encoded after.
  if (ctx.signals.has('beforePublish')) ctx.signals.emit('beforePublish', { id, name, args, kwargs, queue, headers });
  const raw = encodeTask(
    {
      id,
      task: name,
      args,
      kwargs,
      queue,
      priority,
      eta,
      expires,
      retries: 0,
      timeLimit: options.timeLimit ?? task?.options.timeLimit ?? null,
      softTimeLimit: options.softTimeLimit ?? task?.options.softTimeLimit ?? null,
      rootId: options.rootId ?? null,
      parentId: options.parentId ?? null,
      groupId: options.groupId ?? null,
      groupIndex: options.groupIndex ?? null,
      ignoreResult,
      headers,
      embed: options.embed,
      ...sendEncoding(options, task?.options, config),
    },
    ctx.signer?.canSign ? ctx.signer : undefined,
  );
  const bytes = Buffer.byteLength(raw);
  if (bytes > config.maxPayloadBytes) throw new PayloadTooLargeError(name, bytes, config.maxPayloadBytes);
  const track = config.trackPending && !ignoreResult && ctx.hasDatabase;
  return {
    id,
    name,
    info: { id, name, args, kwargs, queue, headers },
    outgoing: { queue, priority, raw, dueAtMs: eta ? eta.getTime() : undefined },
    pending: track
      ? {
          taskId: id,
          status: 'PENDING',
          retries: 0,
          taskName: name,
          periodicTaskName: options.periodicTaskName ?? null,
          args,
          kwargs,
          queue,
          parentId: options.parentId ?? null,
          rootId: options.rootId ?? id,
          groupId: options.groupId ?? null,
          dateCreated: new Date(now),
        }
      : null,
  };
}

/** Celery's task_routes: exact names first, then globs (`reports.*`) in the order given. */
export function routeOf(routes: Record<string, RouteOptions>, name: string): RouteOptions | undefined {
  if (routes[name]) return routes[name];
  for (const [pattern, route] of Object.entries(routes)) {
    if (pattern.includes('*') && globToRegExp(pattern).test(name)) return route;
  }
  return undefined;
}

/**
 * A task's id, name and work-flow ids fill varchar(255) columns of its row: one that does not fit
 * (or holds U+0000) would fail the result batch it lands in, so it is refused before sending.
 */
function assertStorableIds(name: string, id: string, options: ApplyOptions): void {
  const fields: [keyof typeof COLUMN_LIMITS, string, unknown][] = [
    ['taskName', 'the task name', name],
    ['taskId', 'taskId', id],
    ['parentId', 'parentId', options.parentId],
    ['rootId', 'rootId', options.rootId],
    ['groupId', 'groupId', options.groupId],
    ['periodicTaskName', 'periodicTaskName', options.periodicTaskName],
  ];
  for (const [column, label, value] of fields) {
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value === '')
      throw new EncodeError(`${label} must be a non-empty string, got ${shown(value)}.`);
    const problem = columnProblem(column, value);
    if (problem)
      throw new NotStorableError(
        `${label} ${JSON.stringify(value.slice(0, 40))}${value.length > 40 ? '…' : ''} ${problem}: use at most ${COLUMN_LIMITS[column]} characters of plain text.`,
      );
  }
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    '^' +
      glob
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
  );
}
