import { Router, type Request } from 'express';
import { Inspect } from '../../plugin/inspect';
import type { AdminContext } from '../context';
import { HttpError, validationFailed, type FieldErrors } from '../http';
import { requireObjectBody, unknownKeys } from '../validate';

/**
 * Flower's worker controls, over the same Celery pidbox commands as `celeriac inspect|control`
 * (src/plugin/inspect.ts): replies come back per worker, so Python workers answer too.
 * Addressed to one worker by name; 504 when it does not answer within the timeout.
 */
const INSPECT = ['ping', 'active', 'reserved', 'scheduled', 'registered', 'revoked', 'stats', 'active-queues'] as const;
const CONTROL = [
  'pool-grow',
  'pool-shrink',
  'add-consumer',
  'cancel-consumer',
  'rate-limit',
  'time-limit',
  'shutdown',
] as const;
const TIMEOUT_MS = 2000;

export function controlRoutes(ctx: AdminContext): Router {
  const router = Router();
  const control = ctx.app.control;
  const target = (req: Request) => ({ destination: [String(req.params.name)], timeoutMs: TIMEOUT_MS, limit: 1 });

  router.get('/api/workers/:name/inspect/:what', async (req, res) => {
    const what = String(req.params.what);
    if (!(INSPECT as readonly string[]).includes(what))
      throw validationFailed({ what: `unknown inspect command; use one of ${INSPECT.join(', ')}` });
    const inspect = new Inspect(control, target(req));
    const call = what === 'active-queues' ? inspect.activeQueues() : (inspect as any)[what]();
    res.json(single(req, await call));
  });

  router.post('/api/workers/:name/control/:command', async (req, res) => {
    const command = String(req.params.command);
    if (!(CONTROL as readonly string[]).includes(command))
      throw validationFailed({ command: `unknown control command; use one of ${CONTROL.join(', ')}` });
    const body = requireObjectBody(req);
    const errors: FieldErrors = {};
    const opts = target(req);
    const str = (k: string) =>
      typeof body[k] === 'string' && body[k] !== ''
        ? (body[k] as string)
        : void (errors[k] = 'expected a non-empty string');
    const count = () =>
      body.n === undefined
        ? 1
        : Number.isInteger(body.n) && (body.n as number) >= 1
          ? (body.n as number)
          : void (errors.n = 'expected an integer >= 1');
    const secs = (k: string) =>
      body[k] === null || body[k] === undefined
        ? null
        : typeof body[k] === 'number' && (body[k] as number) > 0
          ? (body[k] as number)
          : void (errors[k] = 'expected seconds > 0 or null');
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
      default:
        unknownKeys(body, [], errors);
        run = () => control.shutdown(opts);
    }
    if (Object.keys(errors).length) throw validationFailed(errors);
    res.json(single(req, await run()));
  });
  return router;
}

/** The one addressed worker's reply, or 504 naming it. */
function single(req: Request, replies: Record<string, unknown>): { worker: string; reply: unknown } {
  const name = String(req.params.name);
  if (!(name in replies))
    throw new HttpError(
      504,
      'no_reply',
      `Worker '${name}' did not answer within ${TIMEOUT_MS / 1000} s: it may be offline, busy past its event loop, or named differently.`,
    );
  return { worker: name, reply: replies[name] };
}
