import { html } from '../html';
import type { StatsJson, TaskListItemJson, WorkerJson } from '../types';
import { duration, shortId, stateBadge, time, type PageContext } from './layout';

const CARDS: [label: string, states: string[], cls: string][] = [
  ['Succeeded', ['SUCCESS'], 'ok'],
  ['Failed', ['FAILURE'], 'bad'],
  ['Running', ['STARTED', 'PROGRESS'], 'run'],
  ['Waiting', ['PENDING', 'RECEIVED'], 'wait'],
  ['Retrying', ['RETRY'], 'warn'],
  ['Revoked', ['REVOKED', 'REJECTED'], 'muted'],
];

export function dashboardPage(p: PageContext, stats: StatsJson, failures: TaskListItemJson[], workers: WorkerJson[]) {
  const total = (states: string[]) => states.reduce((n, s) => n + (stats.counts[s] ?? 0), 0);
  return html`
<h1>Dashboard</h1>
<section class="cards" aria-label="Tasks by state, last ${stats.windowMinutes} minutes" id="counts">
  ${CARDS.map(
    ([label, states, cls]) => html`<a class="card ${cls}" href="${p.base}/tasks?state=${states.join(',')}">
      <span class="num" data-states="${states.join(',')}">${total(states)}</span><span class="label">${label}</span></a>`,
  )}
  <a class="card" href="${p.base}/workers"><span class="num" id="workers-online">${stats.workersOnline}</span><span class="label">Workers online</span></a>
</section>
<p class="muted small">Counts cover tasks changed in the last ${stats.windowMinutes} minutes; they refresh every 10 seconds.</p>
<section class="panel">
  <h2>Throughput <span class="muted small">finished per minute, last ${stats.windowMinutes} minutes</span></h2>
  <div id="chart" class="chart" role="img" aria-label="Tasks finished per minute"></div>
  <p class="legend"><span class="key ok"></span> succeeded <span class="key bad"></span> failed</p>
</section>
<section class="panel" id="task-charts">
  <h2>Per task <span class="muted small">last ${stats.windowMinutes} minutes, by minute finished</span></h2>
  <label for="chart-task">Task</label> <select id="chart-task"><option value="">(busiest)</option></select>
  <h3>Succeeded and failed per minute</h3>
  <div id="task-chart-counts" class="chart" role="img" aria-label="Succeeded and failed per minute for the chosen task"></div>
  <p class="legend"><span class="key ok"></span> succeeded <span class="key bad"></span> failed</p>
  <h3>Runtime percentiles <span class="muted small">ms</span></h3>
  <div id="task-chart-runtime" class="chart" role="img" aria-label="Runtime p50, p95 and p99 per minute for the chosen task"></div>
  <p class="legend"><span class="key series-2"></span> p50 <span class="key series-1"></span> p95 <span class="key series-3"></span> p99</p>
</section>
<div class="grid">
  <section class="panel">
    <h2>Workers</h2>
    ${
      workers.length === 0
        ? html`<p class="muted">No worker has registered yet.</p>`
        : html`<ul class="plain" id="dashboard-workers">${workers.map(
            (
              w,
            ) => html`<li><span class="badge ${w.status === 'online' ? 'state-success' : 'state-revoked'}">${w.status}</span> <strong>${w.name}</strong>
            <span class="muted small">${w.active} active · ${w.processed} processed · ${w.queues.join(', ')}</span></li>`,
          )}</ul>`
    }
    <p><a href="${p.base}/workers">All workers →</a></p>
  </section>
  <section class="panel">
    <h2>Queues</h2>
    <table class="compact" id="queues">
      <thead><tr><th>Queue</th><th class="num">Waiting</th></tr></thead>
      <tbody>
        ${stats.queues.map((q) => html`<tr><td>${q.name}</td><td class="num">${q.length}</td></tr>`)}
        <tr class="muted"><td>delayed (countdown / eta / retry)</td><td class="num">${stats.delayed ?? '—'}</td></tr>
      </tbody>
    </table>
  </section>
  <section class="panel">
    <h2>Recent failures</h2>
    ${
      failures.length === 0
        ? html`<p class="muted">No failures recorded.</p>`
        : html`<ul class="plain">${failures.map(
            (
              t,
            ) => html`<li><a href="${p.base}/tasks/${encodeURIComponent(t.id)}">${t.name ?? '(unnamed)'}</a> ${stateBadge(t.state)}
            <span class="muted small">${shortId(t.id)} · ${time(t.dateDone ?? t.dateChanged)} · ${duration(t.runtimeMs)}</span></li>`,
          )}</ul>`
    }
    <p><a href="${p.base}/tasks?state=FAILURE">All failures →</a></p>
  </section>
</div>`;
}
