import { html } from '../html';
import type { QueueJson } from '../types';
import { shortId, time, type PageContext } from './layout';

export interface DeadLetterJson {
  id: string;
  task: string;
  queue: string;
  reason: string;
  consumer: string;
  at: string;
}

const num = (n: number | null) =>
  n === null ? html`<span class="muted" title="this transport cannot tell">—</span>` : n;

/** Flower's broker page: every queue's counts with purge, the next messages with delete, the dead letters. */
export function queuesPage(
  p: PageContext,
  transport: string,
  queues: QueueJson[],
  totals: { delayed: number | null; deadLettered: number },
  dead: DeadLetterJson[],
  asked: string[],
) {
  return html`
<h1>Queues</h1>
<p class="muted small">Broker: ${transport}. Ready messages wait for a worker; unacked ones a worker holds; delayed ones wait for their countdown or eta (revoked ones are not counted). Purge deletes the ready messages only, as <code>celery purge</code> does. The counts refresh every 5 seconds.</p>
<form class="filters" method="get" action="${p.base}/queues">
  <label for="queue-lookup">Show a queue no worker consumes yet</label>
  <input id="queue-lookup" name="queue" type="search" placeholder="queue name" value="${asked[0] ?? ''}">
  <button type="submit" class="button">Show</button>
</form>
<p id="queue-answer" class="message" role="status" aria-live="polite"></p>
<table id="queue-table">
  <caption class="visually-hidden">Queues and their counts</caption>
  <thead><tr><th scope="col">Queue</th><th scope="col" class="num">Ready</th><th scope="col" class="num">Unacked</th><th scope="col" class="num">Delayed</th><th scope="col" class="num">Dead-lettered</th><th scope="col" class="num">Consumers</th><th scope="col">Actions</th></tr></thead>
  <tbody>
  ${queues.map(
    (q) => html`<tr data-queue="${q.name}">
    <th scope="row">${q.name}</th>
    <td class="num" data-field="ready">${q.ready}</td>
    <td class="num" data-field="unacked">${num(q.unacked)}</td>
    <td class="num" data-field="delayed">${num(q.delayed)}</td>
    <td class="num" data-field="deadLettered">${q.deadLettered}</td>
    <td class="num" data-field="consumers">${num(q.consumers)}</td>
    <td class="actions-col"><button type="button" class="small-button" data-queue-action="messages" data-queue="${q.name}">Messages</button>
    ${p.readOnly ? '' : html`<button type="button" class="small-button danger" data-queue-action="purge" data-queue="${q.name}">Purge</button>`}</td>
  </tr>`,
  )}
  </tbody>
  <tfoot><tr class="muted"><th scope="row">every queue</th><td></td><td></td><td class="num" id="total-delayed">${num(totals.delayed)}</td><td class="num" id="total-dead">${totals.deadLettered}</td><td></td><td></td></tr></tfoot>
</table>
<section class="panel" id="queue-messages" hidden>
  <h2>Next messages in <span id="messages-queue"></span></h2>
  <table class="compact" id="messages-table">
    <thead><tr><th scope="col">State</th><th scope="col">Task id</th><th scope="col">Task</th><th scope="col" class="num">Priority</th><th scope="col">Due</th><th scope="col">Actions</th></tr></thead>
    <tbody></tbody>
  </table>
  <p class="empty" id="messages-empty" hidden>No message waits in this queue.</p>
</section>
<section class="panel">
  <h2>Queue length over time <span class="muted small">ready messages, sampled every 5 s since this page opened</span></h2>
  <div id="queue-chart" class="chart" role="img" aria-label="Ready messages per queue over time"></div>
  <p class="legend" id="queue-legend"></p>
</section>
<h2>Dead letters</h2>
<p class="muted small">Messages a worker could not run (bad JSON or headers, an unknown task, one that kept killing workers), kept with the reason. Re-queue sends one back to its queue; delete drops it.</p>
<table id="dead-table">
  <thead><tr><th scope="col">When</th><th scope="col">Task id</th><th scope="col">Task</th><th scope="col">Queue</th><th scope="col">Reason</th><th scope="col">Actions</th></tr></thead>
  <tbody>
  ${dead.map(
    (d) => html`<tr data-id="${d.id}">
    <td>${time(d.at)}</td>
    <td class="mono" title="${d.id}">${d.id ? shortId(d.id) : '—'}</td>
    <td>${d.task}</td>
    <td>${d.queue}</td>
    <td class="clip" title="${d.reason}">${d.reason}</td>
    <td class="actions-col">${
      p.readOnly || !d.id
        ? ''
        : html`<button type="button" class="small-button" data-dead-action="requeue" data-id="${d.id}">Re-queue</button>
      <button type="button" class="small-button danger" data-dead-action="delete" data-id="${d.id}">Delete</button>`
    }</td>
  </tr>`,
  )}
  </tbody>
</table>
<p class="empty" id="dead-empty"${dead.length ? html` hidden` : ''}>No dead letters.</p>`;
}
