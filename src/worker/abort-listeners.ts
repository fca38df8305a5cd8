import { reportContained } from '../contain';

/**
 * Where a task's own abort listener that threw is reported: one function a pool, not one a task
 * (a closure a task would cost the hot path, issue 21). `err` is what the listener threw.
 */
export type AbortListenerReport = (taskName: string, taskId: string, err: unknown) => void;

/** The line a report logs, the same from every pool and from eager runs. */
export function abortListenerThrewMessage(taskName: string, taskId: string): string {
  return `task ${taskName}[${taskId}]'s abort listener threw; ignored (the task is still stopped as its time limit, revoke or the shutdown asked)`;
}

/** A listener as addEventListener takes it: a function, or an object with handleEvent. */
type EventListener = (this: unknown, event: Event) => unknown;
type Listener = EventListener | { handleEvent(event: Event): unknown };

/**
 * Makes a throw from the listeners a task adds to its signal (addEventListener, onabort, which
 * Node's setter adds through addEventListener) go to `threw` instead of ending the process: Node
 * dispatches an EventTarget's event and rethrows a listener's throw, or the rejection of the
 * promise an async listener returns, on process.nextTick, an uncaught exception. A time limit,
 * a revoke with terminate or the shutdown aborting a task whose listener was buggy ended the
 * worker with every task it held.
 *
 * Each listener is wrapped once (a WeakMap listener -> wrapper), so adding it twice still adds it
 * once and removeEventListener still finds it. The options go through untouched (once, signal,
 * passive, Node's internal symbols such as kResistStopPropagation); a listener held weakly
 * (Node's internal kWeakHandler) stays so, since the map holds its wrapper only while the
 * listener itself lives. Only the signals of tasks that read ctx.signal pay for this.
 */
export function guardAbortListeners(signal: AbortSignal, threw: (err: unknown) => void): void {
  const add = signal.addEventListener;
  const remove = signal.removeEventListener;
  const wrappers = new WeakMap<Listener, EventListener>();
  const wrapperOf = (listener: Listener): EventListener => {
    let wrapper = wrappers.get(listener);
    if (!wrapper) wrappers.set(listener, (wrapper = guarded(listener, threw)));
    return wrapper;
  };
  const isListener = (l: unknown): l is Listener => typeof l === 'function' || (typeof l === 'object' && l !== null);
  Object.defineProperties(signal, {
    addEventListener: {
      configurable: true,
      writable: true,
      value(this: AbortSignal, type: string, listener: unknown, options?: unknown) {
        return add.call(this, type, (isListener(listener) ? wrapperOf(listener) : listener) as never, options as never);
      },
    },
    removeEventListener: {
      configurable: true,
      writable: true,
      value(this: AbortSignal, type: string, listener: unknown, options?: unknown) {
        const wrapper = isListener(listener) ? wrappers.get(listener) : undefined;
        return remove.call(this, type, (wrapper ?? listener) as never, options as never);
      },
    },
  });
}

function guarded(listener: Listener, threw: (err: unknown) => void): EventListener {
  const report = (err: unknown) => reportContained(threw, err);
  return function (this: unknown, event: Event) {
    try {
      // As Node calls them: a function with the target as `this`, an object's handleEvent on it.
      const result: unknown = typeof listener === 'function' ? listener.call(this, event) : listener.handleEvent(event);
      if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function')
        (result as Promise<unknown>).then(undefined, report);
    } catch (err) {
      report(err);
    }
  };
}
