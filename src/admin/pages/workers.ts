import { html } from '../html';
import type { QueueJson, WorkerJson } from '../types';
import { time, type PageContext } from './layout';

function age(ms: number | null): string {
  if (ms === null) return 'never';
  if (ms < 1500) return 'just now';
  if (ms < 90_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 90 * 60_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}

export function workersPage(_p: PageContext, workers: WorkerJson[], queues: QueueJson[], delayed: number | null) {
  return html`
<h1>Workers</h1>
<p class="muted small">A worker is online while its heartbeat is younger than its lease; its tasks go back to the queue when it stops renewing. The table updates live.</p>
<table id="workers" class="workers">
  <thead><tr><th>Worker</th><th>Status</th><th>Queues</th><th>Pool</th><th class="num">Active</th><th class="num">Processed</th><th class="num">Succeeded</th><th class="num">Failed</th><th class="num">Retried</th><th>Started</th><th>Heartbeat</th></tr></thead>
  <tbody>
  ${workers.map(
    (w) => html`<tr data-name="${w.name}">
    <td><strong>${w.name}</strong><div class="muted small">${w.hostname ?? ''}${w.pid !== null ? ` · pid ${w.pid}` : ''}</div></td>
    <td><span class="badge ${w.status === 'online' ? 'state-success' : 'state-revoked'}" data-field="status">${w.status}</span></td>
    <td>${w.queues.join(', ')}</td>
    <td>${w.pool ?? '—'}${w.concurrency !== null ? ` × ${w.concurrency}` : ''}</td>
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
${workers.length === 0 ? html`<p class="empty">No worker has registered yet. Start one with <code>celeriac worker --app src/celeriac.ts</code>.</p>` : ''}
<h2>Queues</h2>
<table class="compact narrow" id="queues">
  <thead><tr><th>Queue</th><th class="num">Waiting</th></tr></thead>
  <tbody>
  ${queues.map((q) => html`<tr><td>${q.name}</td><td class="num">${q.length}</td></tr>`)}
  <tr class="muted"><td>delayed (countdown / eta / retry)</td><td class="num">${delayed ?? '—'}</td></tr>
  </tbody>
</table>`;
}
