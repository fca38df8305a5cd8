import { Router, type Request } from 'express';
import { reservedQueueProblem } from '../../broker/keys';
import { describeQueued } from '../../broker/queued';
import { textProblem } from '../../db/limits';
import type { AdminContext } from '../context';
import { fieldErrors, notFound, queryInt, validationFailed } from '../http';
import { noBody } from '../validate';

/**
 * Flower's broker page and Celery's `celery purge`, plus what neither has: the next messages of a
 * queue, deleting one of them, and the dead letters with re-queue and delete. Every change is in
 * the action log with the admin user. Deleting a queued message also revokes its task, so its
 * row reads REVOKED (not PENDING forever) and a copy some worker already holds is dropped too.
 */
export function queueRoutes(ctx: AdminContext): Router {
  const router = Router();
  const broker = () => ctx.bounded('the broker', ctx.app.broker());

  router.get('/api/queues/:name/messages', async (req, res) => {
    const queue = queueName(req);
    const errors = fieldErrors();
    const limit = queryInt(req, 'limit', errors, 1, 500, 50);
    if (Object.keys(errors).length) throw validationFailed(errors);
    const b = await broker();
    const messages = await ctx.bounded('the broker', b.queueAdmin.peek(queue, limit));
    res.set('Cache-Control', 'no-store').json({ queue, messages: messages.map(({ raw: _, ...m }) => m) });
  });

  router.post('/api/queues/:name/purge', async (req, res) => {
    const queue = queueName(req);
    noBody(req);
    const purged = await (await broker()).queueAdmin.purge(queue);
    ctx.audit(req, 'purge queue', { queue, purged });
    res.json({ queue, purged });
  });

  router.delete('/api/queues/:name/messages/:id', async (req, res) => {
    const queue = queueName(req);
    const id = taskId(req);
    noBody(req);
    const deleted = await (await broker()).queueAdmin.deleteMessage(queue, id);
    if (!deleted) throw notFound(`A message for task '${id}' waiting in queue '${queue}'`);
    await ctx.app.control.revoke(id);
    ctx.audit(req, 'delete queued message', { queue, id, was: deleted });
    res.json({ queue, id, deleted });
  });

  router.get('/api/dead-letters', async (req, res) => {
    const errors = fieldErrors();
    const limit = queryInt(req, 'limit', errors, 1, 1000, 100);
    if (Object.keys(errors).length) throw validationFailed(errors);
    const entries = await ctx.bounded('the broker', (await broker()).listDeadLetters(limit));
    const deadLetters = entries.map((d) => {
      const m = describeQueued(d.raw, 'ready');
      return { id: m.id, task: m.task, queue: m.queue, reason: d.reason, consumer: d.consumer, at: d.at };
    });
    res.set('Cache-Control', 'no-store').json({ deadLetters });
  });

  router.post('/api/dead-letters/:id/requeue', async (req, res) => {
    const id = taskId(req);
    noBody(req);
    if (!(await (await broker()).queueAdmin.requeueDeadLetter(id))) throw notFound(`A dead letter for task '${id}'`);
    ctx.audit(req, 're-queue dead letter', { id });
    res.json({ id, requeued: true });
  });

  router.delete('/api/dead-letters/:id', async (req, res) => {
    const id = taskId(req);
    noBody(req);
    if (!(await (await broker()).queueAdmin.deleteDeadLetter(id))) throw notFound(`A dead letter for task '${id}'`);
    ctx.audit(req, 'delete dead letter', { id });
    res.json({ id, deleted: true });
  });

  return router;
}

function param(req: Request, key: string, what: string): string {
  const v = String(req.params[key]);
  const problem = v.length === 0 || v.length > 255 ? `${what} is 1-255 characters` : textProblem(v);
  if (problem) throw validationFailed(Object.assign(fieldErrors(), { [key]: problem }));
  return v;
}

function queueName(req: Request): string {
  const queue = param(req, 'name', 'a queue name');
  const reserved = reservedQueueProblem(queue);
  if (reserved) throw validationFailed(Object.assign(fieldErrors(), { name: reserved }));
  return queue;
}

const taskId = (req: Request) => param(req, 'id', 'a task id');
