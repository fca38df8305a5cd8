import { html } from '../html';
import type { WorkerJson } from '../types';
import { time, type PageContext } from './layout';

function age(ms: number | null): string {
  if (ms === null) return 'never';
  if (ms < 1500) return 'just now';
  if (ms < 90_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 90 * 60_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}

export function workersPage(p: PageContext, workers: WorkerJson[]) {
  return html`
<h1>Workers</h1>
<p class="muted small">A worker is online while its heartbeat is younger than its lease; its tasks go back to the queue when it stops renewing. The table updates live. Open a worker for what it runs and holds, its stats and configuration, and its controls (pool size, autoscale, rate and time limits, consumers, restart, shutdown). Queue lengths, purge and dead letters are on the <a href="${p.base}/queues">Queues</a> page.</p>
<table id="workers" class="workers">
  <thead><tr><th scope="col">Worker</th><th scope="col">Status</th><th scope="col">Queues</th><th scope="col">Pool</th><th scope="col" class="num">Active</th><th scope="col" class="num">Processed</th><th scope="col" class="num">Succeeded</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Retried</th><th scope="col">Started</th><th scope="col">Heartbeat</th></tr></thead>
  <tbody>
  ${workers.map(
    (w) => html`<tr data-name="${w.name}">
    <td><a href="${p.base}/workers/${encodeURIComponent(w.name)}"><strong>${w.name}</strong></a><div class="muted small">${w.hostname ?? ''}${w.pid !== null ? ` · pid ${w.pid}` : ''}</div></td>
    <td><span class="badge ${w.status === 'online' ? 'state-success' : 'state-revoked'}" data-field="status">${w.status}</span></td>
    <td>${w.queues.join(', ')}</td>
    <td data-field="pool">${w.pool ?? '—'}${w.concurrency !== null ? ` × ${w.concurrency}` : ''}</td>
    <td class="num" data-field="active">${w.active}</td>
    <td class="num" data-field="processed">${w.processed}</td>
    <td class="num" data-field="succeeded">${w.succeeded}</td>
    <td class="num" data-field="failed">${w.failed}</td>
    <td class="num" data-field="retried">${w.retried}</td>
    <td>${time(w.startedAt)}</td>
    <td data-field="heartbeat" data-at="${w.heartbeatAt ?? ''}">${age(w.heartbeatAgeMs)}</td>
  </tr>`,
  )}
  </tbody>
</table>
${workers.length === 0 ? html`<p class="empty">No worker has registered yet. Start one with <code>celeriac worker --app src/celeriac.ts</code>.</p>` : ''}`;
}
