/**
 * Every error Celeriac throws on purpose. Each message says what was wrong and what would be
 * right, because these reach people through logs and admin pages, not through a debugger.
 */
export class CeleriacError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A value an error message quotes: JSON where JSON can write it, a readable stand-in where not.
 * It never throws: a BigInt, a Symbol or a prototype-less object given as an option made the code
 * building the ConfigError throw a bare TypeError instead, naming no option.
 */
export function shown(value: unknown): string {
  switch (typeof value) {
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return value.toString();
    case 'function':
      return value.name ? `function ${value.name}` : 'a function';
    case 'undefined':
      return 'undefined';
    case 'number':
      return String(value); // JSON writes NaN and Infinity as null
  }
  try {
    return JSON.stringify(value);
  } catch {
    return `${Array.isArray(value) ? 'an array' : 'an object'} JSON cannot write (it holds a cycle or a BigInt)`;
  }
}

/** shown, but a string in single quotes, as the messages that name a choice ('text' or 'json') write it. */
export function quoted(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : shown(value);
}

export class ConfigError extends CeleriacError {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`Invalid Celeriac config '${key}': ${message}`);
  }
}

export class TaskNotRegisteredError extends CeleriacError {
  constructor(
    readonly taskName: string,
    known: Iterable<string> = [],
  ) {
    const hint = closest(taskName, known);
    super(
      `No task named '${taskName}' is registered` +
        (hint ? ` (did you mean '${hint}'?)` : '') +
        `. Define it with task('${taskName}', fn) or @task() in a tasks.ts module of one of the app folders, ` +
        `or add a route for it in the 'routes' config to send it to another service.`,
    );
  }
}

export class DuplicateTaskError extends CeleriacError {
  constructor(
    readonly taskName: string,
    firstFile: string,
    secondFile: string,
    /** Set when the two are same-named methods of two classes in one module. */
    classes?: [string, string],
  ) {
    super(
      classes
        ? `Two tasks are named '${taskName}': ${classes[0]}.${lastPart(taskName)} and ${classes[1]}.${lastPart(taskName)} ` +
            `in ${firstFile} (a decorated method is named after its module and method, as Celery names tasks). ` +
            `Name one explicitly: @task({ name: '${taskName.slice(0, -lastPart(taskName).length)}${lowerFirst(classes[1])}.${lastPart(taskName)}' }).`
        : `Two tasks are named '${taskName}': one in ${firstFile} and one in ${secondFile}. ` +
            `Give one of them another name with task('other.name', fn) or @task({ name: 'other.name' }).`,
    );
  }
}

const lastPart = (name: string) => name.slice(name.lastIndexOf('.') + 1);
const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** Part of a bulk send reached the broker before a later chunk failed; `sentIds` are the tasks that went. */
export class BulkSendError extends CeleriacError {
  constructor(
    readonly sentIds: string[],
    readonly total: number,
    cause: unknown,
  ) {
    super(
      `Bulk send stopped after ${sentIds.length} of ${total} tasks: ${(cause as Error)?.message ?? String(cause)}. ` +
        `The first ${sentIds.length} were sent (error.sentIds); send the rest again once the broker is back.`,
      { cause },
    );
  }
}

export class EncodeError extends CeleriacError {}

/**
 * A value the result table cannot hold (U+0000 or a lone surrogate in a string or key, an id or
 * name longer than its column): refused when sent through Celeriac, and the task's final state
 * when it arrives from another producer or is a task's return value.
 */
export class NotStorableError extends EncodeError {}

export class PayloadTooLargeError extends CeleriacError {
  constructor(
    readonly taskName: string,
    readonly bytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `The message for task '${taskName}' is ${bytes} bytes, over the ${limitBytes}-byte limit (maxPayloadBytes). ` +
        `Pass a reference (a row id, an object-store key) instead of the data, or raise maxPayloadBytes.`,
    );
  }
}

export class MessageDecodeError extends CeleriacError {}

export class BrokerUnavailableError extends CeleriacError {}

/**
 * brokerTransportOptions.waitReplicas: the primary has the message, but fewer replicas than asked
 * confirmed it in time, so a failover now could lose it. Sending again is safe for Celeriac (the
 * same task id at most runs twice, never lost); a BrokerUnavailableError, so callers that retry
 * on one retry on this too.
 */
export class NotReplicatedError extends BrokerUnavailableError {}

/** A broker step on a message the consumer no longer holds (its lease lapsed and it was given back meanwhile). */
export class MessageNotHeldError extends CeleriacError {}

export class TimeoutError extends CeleriacError {}

/**
 * Raised by `AsyncResult.get()` when the result table could not be read for as long as
 * `get()` keeps trying (Postgres away or wedged): the task itself is unaffected.
 */
export class ResultUnavailableError extends CeleriacError {}

/** Raised by `AsyncResult.get()` when the task failed: carries the remote error's class and stack. */
export class TaskFailedError extends CeleriacError {
  constructor(
    readonly taskId: string,
    readonly excType: string,
    readonly excMessage: string,
    readonly traceback: string | null,
  ) {
    super(`Task ${taskId} failed with ${excType}: ${excMessage}`);
  }
}

export class TaskRevokedError extends CeleriacError {
  constructor(readonly taskId: string) {
    super(`Task ${taskId} was revoked before it finished.`);
  }
}

export class TimeLimitExceededError extends CeleriacError {
  constructor(readonly seconds: number) {
    super(`The task ran longer than its timeLimit of ${seconds}s and was stopped. Raise timeLimit or split the work.`);
  }
}

/**
 * The child running a task died under it (Celery's billiard WorkerLostError): process.abort, a
 * native addon's fault, an allocation past the heap limit, an outside kill. The worker lives on.
 */
export class WorkerLostError extends CeleriacError {}

export class SoftTimeLimitExceededError extends CeleriacError {
  constructor(readonly seconds: number) {
    super(`The task ran longer than its softTimeLimit of ${seconds}s; its AbortSignal was aborted.`);
  }
}

/** Thrown inside a task by `ctx.retry()`; the worker catches it and schedules the next attempt. */
export class RetryRequest extends CeleriacError {
  constructor(
    readonly countdownMs: number,
    readonly reason?: unknown,
  ) {
    super(`Retry requested in ${countdownMs} ms`);
  }
}

export class MaxRetriesExceededError extends CeleriacError {}

/** A work-flow that cannot be built or run as given (a link on a group, a malformed signature). */
export class CanvasError extends CeleriacError {}

/** Levenshtein-closest candidate within distance 3, for "did you mean" hints. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
