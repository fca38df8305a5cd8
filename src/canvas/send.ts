import type { Runtime } from '../runtime/runtime';
import type { ApplyOptions } from '../plugin/options';
import { AsyncResult, GroupResult } from '../results/async-result';
import type { ResultBackend } from '../results/backend';
import { EagerRun } from '../eager/run';
import { EagerResult } from '../eager/eager-result';
import { MemoryResultBackend } from '../eager/memory-backend';
import { applyNode, emptyPlan, type Plan } from './apply';
import { chainSteps, chordBody, chordHeader, cloneWire, freeze, kindOf, opts, resultIds, type Wire } from './wire';

/** Large groups go out in slices, so one pipeline never holds a whole 10,000-member group. */
const SEND_BATCH = 1000;

/**
 * Sends a work-flow from the app: every id is fixed first (so the handle returned knows them all
 * and a worker that continues the flow after a crash re-sends the same ones), then the first
 * messages go out, after the rows of the groups they belong to.
 */
export async function sendCanvas(
  app: Runtime,
  wire: Wire,
  args: unknown[],
  kwargs: Record<string, unknown>,
  options: ApplyOptions,
  /** Run it in this process (Canvas.apply, or the app's alwaysEager), as Celery's apply(). */
  eager?: { throw?: boolean },
): Promise<AsyncResult | GroupResult> {
  const node = freeze(cloneWire(wire), (name) => app.route(name)?.queue ?? app.registry.get(name)?.options.queue);
  const plan = applyNode((...a) => app.prepare(...a), node, args, { kwargs, options }, emptyPlan());
  if (eager ?? app.config.alwaysEager) {
    const run = new EagerRun(app, eager?.throw ?? app.config.eagerPropagates);
    await run.run(plan.messages, plan.groups);
    return handleOf(run.backend, node, null);
  }
  await dispatch(app, plan);
  return handleOf(app.resultBackend, node, null);
}

async function dispatch(app: Runtime, plan: Plan): Promise<void> {
  for (const g of plan.groups) await app.resultBackend.saveGroup(g.groupId, g.taskIds, g.chordSize);
  for (let i = 0; i < plan.messages.length; i += SEND_BATCH)
    await app.sendPrepared(plan.messages.slice(i, i + SEND_BATCH));
}

/**
 * The result handle of a frozen node, with `.parent` linked as Celery's freeze does: a chain's
 * result is its last step's, whose parent is the step before; a chord's is its body's, whose
 * parent is the header's GroupResult.
 */
export function handleOf(
  backend: ResultBackend,
  node: Wire,
  parent: AsyncResult | GroupResult | null,
): AsyncResult | GroupResult {
  let handle: AsyncResult | GroupResult;
  switch (kindOf(node)) {
    case 'leaf':
      handle = resultOf(opts(node).task_id!, backend);
      break;
    case 'chain': {
      let prev = parent;
      for (const step of chainSteps(node)) prev = handleOf(backend, step, prev);
      return prev ?? new GroupResult('', [], backend);
    }
    case 'group':
      handle = groupHandle(backend, node);
      break;
    case 'chord': {
      const header = groupHandle(backend, chordHeader(node));
      header.parent = parent;
      return handleOf(backend, chordBody(node), header);
    }
  }
  handle.parent = parent;
  return handle;
}

function groupHandle(backend: ResultBackend, group: Wire): GroupResult {
  return new GroupResult(
    opts(group).task_id!,
    resultIds(group).map((id) => resultOf(id, backend)),
    backend,
  );
}

/** An eager run's handles are EagerResults, as Celery's apply() returns. */
function resultOf(id: string, backend: ResultBackend): AsyncResult {
  return backend instanceof MemoryResultBackend ? new EagerResult(id, backend) : new AsyncResult(id, backend);
}
