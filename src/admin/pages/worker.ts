import { html, type SafeHtml } from '../html';
import type { WorkerJson } from '../types';
import { time, type PageContext } from './layout';

/** One control: a form the page's script confirms, posts to api/workers/<name>/control/<command>, and answers under. */
function control(command: string, label: string, fields: SafeHtml | SafeHtml[], danger = false): SafeHtml {
  return html`<form class="control" data-command="${command}" data-label="${label}">
  ${fields}
  <button type="submit" class="${danger ? 'button danger' : 'button'}">${label}</button>
</form>`;
}

function input(
  id: string,
  label: string,
  attrs: { type?: string; value?: string; placeholder?: string; min?: string; list?: string; step?: string } = {},
): SafeHtml {
  return html`<span class="field"><label for="${id}">${label}</label>
  <input id="${id}" name="${id.split('-').pop()}" type="${attrs.type ?? 'text'}"${attrs.value !== undefined ? html` value="${attrs.value}"` : ''}${attrs.placeholder ? html` placeholder="${attrs.placeholder}"` : ''}${attrs.min ? html` min="${attrs.min}"` : ''}${attrs.step ? html` step="${attrs.step}"` : ''}${attrs.list ? html` list="${attrs.list}"` : ''}></span>`;
}

/** Flower's worker page: what the worker holds and runs, its stats and configuration, and its controls. */
export function workerPage(p: PageContext, w: WorkerJson, taskNames: string[], knownQueues: string[]) {
  const taskSelect = (id: string) => html`<span class="field"><label for="${id}">Task</label>
  <select id="${id}" name="task">${taskNames.map((t) => html`<option>${t}</option>`)}</select></span>`;
  return html`
<p class="crumbs"><a href="${p.base}/workers">Workers</a> /</p>
<div class="title-row"><h1>${w.name}</h1> <span class="badge ${w.status === 'online' ? 'state-success' : 'state-revoked'}" id="worker-status">${w.status}</span></div>
<p class="muted">${w.hostname ?? ''}${w.pid !== null ? ` · pid ${w.pid}` : ''} · <span id="worker-pool">${w.pool ?? '?'} pool × ${w.concurrency ?? '?'}</span> · queues <span id="worker-queues">${w.queues.join(', ')}</span> · started ${time(w.startedAt)}</p>
${
  p.readOnly
    ? ''
    : html`<section class="panel" id="controls" aria-labelledby="controls-h">
  <h2 id="controls-h">Controls</h2>
  <p class="muted small">Each control asks for confirmation, goes to this worker only (Celery's remote control), and is written to the server's log with your user name.</p>
  <p id="control-answer" class="message" role="status" aria-live="polite"></p>
  <datalist id="known-queues">${knownQueues.map((q) => html`<option value="${q}"></option>`)}</datalist>
  <div class="controls">
    ${control('pool-grow', 'Grow pool', input('c-pool-grow-n', 'Slots to add', { type: 'number', value: '1', min: '1' }))}
    ${control('pool-shrink', 'Shrink pool', input('c-pool-shrink-n', 'Slots to remove', { type: 'number', value: '1', min: '1' }))}
    ${control('autoscale', 'Set autoscale', [input('c-autoscale-max', 'Max', { type: 'number', min: '1' }), input('c-autoscale-min', 'Min', { type: 'number', min: '1' })])}
    ${control('rate-limit', 'Set rate limit', [taskSelect('c-rate-task'), input('c-rate-limit-rate', 'Rate (empty: no limit)', { placeholder: '10/s, 100/m, 1000/h' })])}
    ${control('time-limit', 'Set time limits', [taskSelect('c-time-task'), input('c-time-limit-soft', 'Soft, seconds', { type: 'number', min: '0', step: 'any' }), input('c-time-limit-hard', 'Hard, seconds', { type: 'number', min: '0', step: 'any' })])}
    ${control('add-consumer', 'Add consumer', input('c-add-consumer-queue', 'Queue', { list: 'known-queues' }))}
    ${control('cancel-consumer', 'Cancel consumer', input('c-cancel-consumer-queue', 'Queue', { list: 'known-queues' }))}
    ${control('pool-restart', 'Restart pool', html`<span class="muted small">Fresh threads or child processes load the app again.</span>`)}
    ${control('shutdown', 'Shut down worker', html`<span class="muted small">Finishes running tasks, then stops.</span>`, true)}
  </div>
</section>`
}
<p id="overview-status" class="muted small" role="status">Asking the worker…</p>
<div class="grid">
  <section class="panel"><h2>Stats</h2><dl class="facts" id="w-stats"></dl></section>
  <section class="panel"><h2>Queues it consumes</h2><ul class="plain" id="w-queues"></ul></section>
</div>
${(
  [
    ['active', 'Active', 'Running now'],
    ['reserved', 'Reserved', 'Taken from the broker, waiting for a slot or a rate-limit token'],
    ['scheduled', 'Scheduled', 'Eta and countdown tasks of its queues, waiting for their time'],
  ] as const
).map(
  ([key, title, help]) => html`<section class="panel">
  <h2>${title} <span class="muted small" id="w-${key}-count"></span></h2>
  <p class="muted small">${help}</p>
  <table class="compact" id="w-${key}"><thead><tr><th scope="col">Task id</th><th scope="col">Task</th><th scope="col">Arguments</th><th scope="col">${key === 'scheduled' ? 'Eta' : 'Started'}</th></tr></thead><tbody></tbody></table>
</section>`,
)}
<section class="panel"><h2>Revoked <span class="muted small" id="w-revoked-count"></span></h2><ul class="plain mono small" id="w-revoked"></ul></section>
<section class="panel"><h2>Registered tasks</h2>
  <table class="compact" id="w-registered"><thead><tr><th scope="col">Task</th><th scope="col">Options</th></tr></thead><tbody></tbody></table>
</section>
<section class="panel"><h2>Configuration <span class="muted small">inspect conf; secrets masked</span></h2>
  <table class="compact" id="w-conf"><thead><tr><th scope="col">Setting</th><th scope="col">Value</th></tr></thead><tbody></tbody></table>
</section>`;
}
