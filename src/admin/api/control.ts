import { Router, type Request } from 'express';
import { Inspect } from '../../plugin/inspect';
import type { AdminContext } from '../context';
import { loadWorkerOverview } from './worker-overview';
import { textProblem } from '../../db/limits';
import { MAX_TIME_LIMIT_S } from '../../broker/headers';
import { MAX_POOL_STEP } from '../../worker/control-surface';
import { HttpError, notFound, validationFailed, fieldErrors } from '../http';
import { requireObjectBody, unknownKeys } from '../validate';

/**
 * Flower's worker controls, over the same Celery pidbox commands as `celeriac inspect|control`
 * (src/plugin/inspect.ts): replies come back per worker, so Python workers answer too.
 * Addressed to one worker by name. No answer within controlTimeoutMs: 404 when no worker of
 * that name is registered either (the name is the client's mistake, or a Python worker that is
 * not running), 504 when a registered Celeriac worker stays silent (the server's trouble).
 */
const INSPECT = [
  'ping',
  'active',
  'reserved',
  'scheduled',
  'registered',
  'revoked',
  'stats',
  'active-queues',
  'conf',
] as const;
const CONTROL = [
  'pool-grow',
  'pool-shrink',
  'add-consumer',
  'cancel-consumer',
  'rate-limit',
  'time-limit',
  'autoscale',
  'pool-restart',
  'shutdown',
] as const;
/** A worker arms its time limits with setTimeout, which fires at once for more than 2^31-1 ms. */
const MAX_LIMIT_S = Math.floor(MAX_TIME_LIMIT_S);

export function controlRoutes(ctx: AdminContext): Router {
  const router = Router();
  const control = ctx.app.control;
  const timeoutMs = ctx.options.controlTimeoutMs;
  const target = (req: Request) => ({ destination: [workerName(req)], timeoutMs, limit: 1 });
  const single = async (req: Request, replies: Record<string, unknown>) => {
    const name = workerName(req);
    if (Object.hasOwn(replies, name)) return { worker: name, reply: replies[name] };
    const registry = await ctx.bounded(
      'the worker registry',
      ctx.app.broker().then((b) => b.listWorkerInfo()),
    );
    const registered = Object.hasOwn(registry, name);
    if (!registered) throw notFound(`A worker named '${name}' that answers within ${timeoutMs / 1000} s`, 'name');
    throw new HttpError(
      504,
      'no_reply',
      `Worker '${name}' did not answer within ${timeoutMs / 1000} s: it may be offline or busy past its event loop.`,
    );
  };

  router.get('/api/workers/:name/overview', async (req, res) => {
    const overview = await loadWorkerOverview(ctx, workerName(req));
    res.set('Cache-Control', 'no-store').json(overview ?? (await single(req, {})));
  });

  router.get('/api/workers/:name/inspect/:what', async (req, res) => {
    const what = String(req.params.what);
    if (!(INSPECT as readonly string[]).includes(what))
      throw validationFailed({ what: `unknown inspect command; use one of ${INSPECT.join(', ')}` });
    const inspect = new Inspect(control, target(req));
    const call = what === 'active-queues' ? inspect.activeQueues() : (inspect as any)[what]();
    res.json(await single(req, await call));
  });

  router.post('/api/workers/:name/control/:command', async (req, res) => {
    const command = String(req.params.command);
    if (!(CONTROL as readonly string[]).includes(command))
      throw validationFailed({ command: `unknown control command; use one of ${CONTROL.join(', ')}` });
    const body = requireObjectBody(req);
    const errors = fieldErrors();
    const opts = target(req);
    const str = (k: string) =>
      typeof body[k] === 'string' && body[k] !== '' && (body[k] as string).length <= 255
        ? (body[k] as string)
        : void (errors[k] = 'expected a non-empty string of at most 255 characters');
    const count = () =>
      body.n === undefined
        ? 1
        : Number.isInteger(body.n) && (body.n as number) >= 1 && (body.n as number) <= MAX_POOL_STEP
          ? (body.n as number)
          : void (errors.n = `expected a whole number from 1 to ${MAX_POOL_STEP}`);
    const secs = (k: string) =>
      body[k] === null || body[k] === undefined
        ? null
        : typeof body[k] === 'number' && (body[k] as number) > 0 && (body[k] as number) <= MAX_LIMIT_S
          ? (body[k] as number)
          : void (errors[k] = `expected seconds above 0 and at most ${MAX_LIMIT_S} (about 24 days), or null`);
    let run: () => Promise<Record<string, unknown>>;
    switch (command) {
      case 'pool-grow':
      case 'pool-shrink': {
        unknownKeys(body, ['n'], errors);
        const n = count();
        run = () => (command === 'pool-grow' ? control.poolGrow(n!, opts) : control.poolShrink(n!, opts));
        break;
      }
      case 'add-consumer':
      case 'cancel-consumer': {
        unknownKeys(body, ['queue'], errors);
        const queue = str('queue');
        run = () =>
          command === 'add-consumer' ? control.addConsumer(queue!, opts) : control.cancelConsumer(queue!, opts);
        break;
      }
      case 'rate-limit': {
        unknownKeys(body, ['task', 'rate'], errors);
        const task = str('task');
        if (body.rate !== null && (typeof body.rate !== 'string' || !/^\d+(\.\d+)?\/[smh]$/.test(body.rate)))
          errors.rate = "expected '10/s', '100/m', '1000/h', or null to remove the limit";
        run = () => control.rateLimit(task!, (body.rate as string | null) ?? null, opts);
        break;
      }
      case 'time-limit': {
        unknownKeys(body, ['task', 'soft', 'hard'], errors);
        const task = str('task');
        const soft = secs('soft');
        const hard = secs('hard');
        run = () => control.timeLimit(task!, soft ?? null, hard ?? null, opts);
        break;
      }
      case 'autoscale': {
        unknownKeys(body, ['max', 'min'], errors);
        const whole = (k: string) =>
          Number.isInteger(body[k]) && (body[k] as number) >= 1 && (body[k] as number) <= MAX_POOL_STEP
            ? (body[k] as number)
            : void (errors[k] = `expected a whole number from 1 to ${MAX_POOL_STEP}`);
        const max = whole('max');
        const min = whole('min');
        if (max !== undefined && min !== undefined && min > max) errors.min = `expected at most max (${max})`;
        run = () => control.autoscale(max!, min!, opts);
        break;
      }
      case 'pool-restart':
        unknownKeys(body, [], errors);
        run = () => control.poolRestart(opts);
        break;
      default:
        unknownKeys(body, [], errors);
        run = () => control.shutdown(opts);
    }
    if (Object.keys(errors).length) throw validationFailed(errors);
    const logged = { worker: workerName(req), arguments: body };
    let answer;
    try {
      answer = await single(req, await run());
    } catch (err) {
      ctx.audit(req, `control ${command}`, { ...logged, reply: err instanceof HttpError ? err.code : 'failed' });
      throw err;
    }
    ctx.audit(req, `control ${command}`, { ...logged, reply: answer.reply });
    res.json(answer);
  });
  return router;
}

/** The addressed worker's name from the URL: a registry key, so 1-255 characters of plain text. */
export function workerName(req: Request): string {
  const name = String(req.params.name);
  const problem = name.length === 0 || name.length > 255 ? 'a worker name is 1-255 characters' : textProblem(name);
  if (problem) throw validationFailed(Object.assign(fieldErrors(), { name: problem }));
  return name;
}
