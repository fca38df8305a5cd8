import type { ResolvedConfig } from '../config';
import { redactUrl } from '../broker/url';
import type { WorkerStats } from './control-surface';

/**
 * `inspect conf` (Celery: the app's settings as the worker sees them, secrets masked): the app's
 * resolved configuration under Celeriac's option names, URLs without passwords, keys and objects
 * (data source, logger, signing keys) named but never sent, and the worker's own settings.
 */
export function describeConf(config: ResolvedConfig, worker: WorkerStats): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === 'broker') continue; // brokerUrl, redacted, says the same
    if (value === undefined) out[key] = null;
    else if (key === 'brokerUrl' || key === 'databaseUrl') out[key] = redactUrl(String(value));
    else if (key === 'dataSource' || key === 'logger') out[key] = '<object>';
    // The auth serializer holds the private key: its digest is all a monitor may see.
    else if (key === 'signing' || key === 'security') out[key] = '********';
    // A Set would reach the monitor as {}: the content types accepted, as Celery's accept_content lists them.
    else if (value instanceof Set) out[key] = [...value];
    else if (key === 'beatSchedule') out[key] = `${(value as unknown[]).length} entries`;
    else out[key] = value;
  }
  out.worker = { name: worker.name, queues: worker.queues, concurrency: worker.concurrency, pool: worker.pool };
  return out;
}
