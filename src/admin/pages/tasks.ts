import { States } from '../../results/states';
import { html, prettyJson, type SafeHtml } from '../html';
import type { TaskDetailJson, TaskListItemJson, TaskListJson } from '../types';
import { duration, shortId, stateBadge, time, type PageContext } from './layout';

export const WINDOWS: Record<string, [label: string, minutes: number]> = {
  '15m': ['Last 15 minutes', 15],
  '1h': ['Last hour', 60],
  '24h': ['Last 24 hours', 1440],
  '7d': ['Last 7 days', 10080],
};

export interface TaskFilterForm {
  state?: string;
  task?: string;
  periodicTask?: string;
  worker?: string;
  q?: string;
  window?: string;
  /** ISO 8601 instants (the page's script converts its date-time inputs in the chosen zone). */
  since?: string;
  until?: string;
  /** Seconds. */
  minRuntime?: string;
  maxRuntime?: string;
  sort?: string;
}

/** The list's sort choices → the API's sort parameter. */
export const SORTS: Record<string, [label: string, api: string]> = {
  '': ['Newest first', '-date_changed'],
  oldest: ['Oldest first', 'date_changed'],
  slowest: ['Slowest first', '-runtime'],
  fastest: ['Fastest first', 'runtime'],
};

export function taskRow(p: PageContext, t: TaskListItemJson): SafeHtml {
  const href = `${p.base}/tasks/${encodeURIComponent(t.id)}`;
  return html`<tr data-id="${t.id}">
  <td>${stateBadge(t.state)}${t.progress?.percent != null ? html` <span class="muted small">${t.progress.percent}%</span>` : ''}</td>
  <td><a href="${href}">${t.name ?? '(unnamed)'}</a>${t.periodicTaskName ? html`<div class="muted small">periodic: ${t.periodicTaskName}</div>` : ''}</td>
  <td><a class="mono" href="${href}" title="${t.id}">${shortId(t.id)}</a></td>
  <td class="mono clip" title="${t.argsPreview ?? ''}">${t.argsPreview ?? ''}${t.kwargsPreview && t.kwargsPreview !== '{}' ? html` <span class="muted">${t.kwargsPreview}</span>` : ''}</td>
  <td class="mono clip" title="${t.resultPreview ?? ''}">${t.resultPreview ?? ''}</td>
  <td>${t.worker ?? html`<span class="muted">—</span>`}</td>
  <td>${time(t.dateCreated)}</td>
  <td class="num">${duration(t.runtimeMs)}</td>
</tr>`;
}

export function tasksPage(
  p: PageContext,
  list: TaskListJson,
  form: TaskFilterForm,
  taskNames: string[],
  apiQuery: string,
  pageLinks: { newer?: string; older?: string },
  workerNames: string[] = [],
) {
  const states = Object.values(States);
  return html`
<div class="title-row">
  <h1>Tasks</h1>
  ${p.readOnly ? '' : html`<a class="button primary" href="${p.base}/tasks/new">Start a task</a>`}
</div>
<form class="filters" method="get" action="${p.base}/tasks" aria-label="Filter tasks">
  <label>State <select name="state">
    <option value="">Any</option>
    ${states.map((s) => html`<option${form.state === s ? html` selected` : ''}>${s}</option>`)}
    ${form.state && !states.includes(form.state as never) ? html`<option selected>${form.state}</option>` : ''}
  </select></label>
  <label>Task <input name="task" list="task-names" value="${form.task ?? ''}" placeholder="name or prefix.*"></label>
  <datalist id="task-names">${taskNames.map((n) => html`<option value="${n}">`)}</datalist>
  <label>Periodic task <input name="periodicTask" value="${form.periodicTask ?? ''}"></label>
  <label>Worker <input name="worker" list="worker-names" value="${form.worker ?? ''}"></label>
  <datalist id="worker-names">${workerNames.map((n) => html`<option value="${n}">`)}</datalist>
  <label>Search <input name="q" type="search" value="${form.q ?? ''}" placeholder="id or name"></label>
  <label>Created <select name="window">
    <option value="">Any time</option>
    ${Object.entries(WINDOWS).map(([k, [label]]) => html`<option value="${k}"${form.window === k ? html` selected` : ''}>${label}</option>`)}
  </select></label>
  <label>Changed from <input name="since" type="text" inputmode="numeric" value="${form.since ?? ''}" placeholder="2026-12-07T09:00Z" size="18"></label>
  <label>to <input name="until" type="text" inputmode="numeric" value="${form.until ?? ''}" placeholder="ISO 8601 with zone" size="18"></label>
  <label>Runtime ≥ <input name="minRuntime" type="number" min="0" step="any" value="${form.minRuntime ?? ''}" placeholder="s" class="short"></label>
  <label>≤ <input name="maxRuntime" type="number" min="0" step="any" value="${form.maxRuntime ?? ''}" placeholder="s" class="short"></label>
  <label>Sort <select name="sort">
    ${Object.entries(SORTS).map(([k, [label]]) => html`<option value="${k}"${(form.sort ?? '') === k ? html` selected` : ''}>${label}</option>`)}
  </select></label>
  <button type="submit">Filter</button>
  <a class="button link" href="${p.base}/tasks">Clear</a>
</form>
<p class="muted small"><span id="total">${list.total}${list.totalCapped ? '+' : ''}</span> tasks match · ${(SORTS[form.sort ?? ''] ?? SORTS[''])[0].toLowerCase()} · the table updates live · runtime filters and sorts read finished tasks only</p>
<table class="tasks" id="tasks" data-api="${p.base}/api/tasks?${apiQuery}">
  <thead><tr><th>State</th><th>Task</th><th>ID</th><th>Arguments</th><th>Result</th><th>Worker</th><th>Created</th><th class="num">Runtime</th></tr></thead>
  <tbody>${list.items.map((t) => taskRow(p, t))}</tbody>
</table>
${list.items.length === 0 ? html`<p class="empty" id="empty">No tasks match these filters.</p>` : ''}
<nav class="pager" aria-label="Pages">
  ${pageLinks.newer ? html`<a href="${pageLinks.newer}">← Newest</a>` : ''}
  ${pageLinks.older ? html`<a href="${pageLinks.older}">Older →</a>` : ''}
</nav>`;
}

function json(value: unknown, id: string): SafeHtml {
  return html`<pre class="json" id="${id}">${prettyJson(value)}</pre>`;
}

export function taskDetailPage(p: PageContext, t: TaskDetailJson) {
  const link = (id: string | null) =>
    id
      ? html`<a class="mono" href="${p.base}/tasks/${encodeURIComponent(id)}">${id}</a>`
      : html`<span class="muted">—</span>`;
  const canRevoke = !t.ready;
  const canRetry = ['FAILURE', 'REVOKED', 'REJECTED'].includes(t.state);
  return html`
<p class="crumbs"><a href="${p.base}/tasks">Tasks</a> /</p>
<div class="title-row">
  <h1><span id="task-name">${t.name ?? '(unnamed task)'}</span> <span id="task-state">${stateBadge(t.state)}</span></h1>
  ${
    p.readOnly
      ? ''
      : html`<div class="actions">
    <button type="button" class="button" data-action="revoke" ${canRevoke ? '' : html`hidden`}>Revoke</button>
    <button type="button" class="button danger" data-action="terminate" ${canRevoke ? '' : html`hidden`}>Terminate</button>
    <button type="button" class="button primary" data-action="retry" ${canRetry ? '' : html`hidden`}>Retry with the same arguments</button>
  </div>`
  }
</div>
<p class="message" id="action-message" role="status"></p>
<div class="progress" id="progress" ${t.progress ? '' : html`hidden`}><div class="bar"><div id="progress-fill" data-percent="${t.progress?.percent ?? 0}"></div></div>
  <span id="progress-text" class="small">${t.progress ? `${t.progress.done} / ${t.progress.total ?? '?'}` : ''}</span></div>
<div class="grid">
<section class="panel">
  <h2>Task</h2>
  <dl class="facts">
    <dt>ID</dt><dd class="mono" id="task-id">${t.id}</dd>
    <dt>Worker</dt><dd id="task-worker">${t.worker ?? '—'}</dd>
    <dt>Queue</dt><dd>${t.queue ?? '—'}</dd>
    <dt>Retries</dt><dd id="task-retries">${t.retries}</dd>
    <dt>Periodic task</dt><dd>${t.periodicTaskName ? html`<a href="${p.base}/tasks?periodicTask=${encodeURIComponent(t.periodicTaskName)}">${t.periodicTaskName}</a>` : '—'}</dd>
    <dt>Parent</dt><dd>${link(t.parentId)}</dd>
    <dt>Root</dt><dd>${t.rootId && t.rootId !== t.id ? link(t.rootId) : html`<span class="muted">this task</span>`}</dd>
    ${t.groupId ? html`<dt>Group</dt><dd class="mono">${t.groupId}</dd>` : ''}
    ${t.retriedFrom ? html`<dt>Retry of</dt><dd>${link(t.retriedFrom)}</dd>` : ''}
  </dl>
</section>
<section class="panel">
  <h2>Timing</h2>
  <dl class="facts">
    <dt>Created</dt><dd id="date-created">${time(t.dateCreated)}</dd>
    <dt>Started</dt><dd id="date-started">${time(t.dateStarted)}</dd>
    <dt>Done</dt><dd id="date-done">${time(t.dateDone)}</dd>
    <dt>Runtime</dt><dd id="runtime">${duration(t.runtimeMs)}</dd>
  </dl>
</section>
</div>
<section class="panel">
  <h2>Arguments</h2>
  <h3>args</h3>${json(t.args, 'task-args')}
  <h3>kwargs</h3>${json(t.kwargs, 'task-kwargs')}
</section>
<section class="panel" id="result-panel" ${t.state === 'SUCCESS' ? '' : html`hidden`}>
  <h2>Result</h2>${json(t.result, 'task-result')}
</section>
<section class="panel error" id="error-panel" ${t.error ? '' : html`hidden`}>
  <h2>Error</h2>
  <p><strong id="error-type">${t.error?.type ?? ''}</strong>: <span id="error-message">${t.error?.message ?? ''}</span></p>
  ${
    t.error?.stack !== undefined
      ? html`<h3>Traceback</h3><pre class="traceback" id="error-stack">${t.error?.stack ?? ''}</pre>`
      : html`<p class="muted small" id="error-stack-hidden">The traceback is hidden for your account (showTracebacks).</p>`
  }
</section>
<section class="panel" id="meta-panel" ${t.meta ? '' : html`hidden`}>
  <h2>Meta</h2>${json(t.meta, 'task-meta')}
</section>
<section class="panel">
  <h2>Children</h2>
  ${
    t.children.length === 0
      ? html`<p class="muted">No subtasks.</p>`
      : html`<ul class="plain">${t.children.map(
          (c) =>
            html`<li>${stateBadge(c.state)} <a href="${p.base}/tasks/${encodeURIComponent(c.id)}">${c.name ?? c.id}</a> <span class="muted small mono">${shortId(c.id)}</span></li>`,
        )}</ul>${t.childrenTruncated ? html`<p class="muted small"><a href="${p.base}/tasks?parent=${encodeURIComponent(t.id)}">All children →</a></p>` : ''}`
  }
</section>`;
}

export function newTaskPage(
  p: PageContext,
  names: string[],
  queues: string[],
  selected?: string,
  params: Record<string, string[] | null> = {},
) {
  return html`
<p class="crumbs"><a href="${p.base}/tasks">Tasks</a> /</p>
<h1>Start a task</h1>
<form class="stacked" id="new-task" novalidate>
  <div class="field" data-field="task">
    <label for="f-task">Task</label>
    <select id="f-task" name="task" required>
      <option value="">Choose a registered task…</option>
      ${names.map((n) => html`<option${n === selected ? html` selected` : ''}${params[n] ? html` data-params="${params[n]!.join(', ')}"` : ''}>${n}</option>`)}
    </select>
    <p class="help" id="task-params" aria-live="polite"></p>
    <p class="error" data-error-for="task"></p>
  </div>
  <div class="field" data-field="args">
    <label for="f-args">Positional arguments <span class="muted small">(a JSON array)</span></label>
    <textarea id="f-args" name="args" rows="4" class="mono grow" spellcheck="false" aria-describedby="task-params">[]</textarea>
    <p class="error" data-error-for="args"></p>
  </div>
  <div class="field" data-field="kwargs">
    <label for="f-kwargs">Keyword arguments <span class="muted small">(a JSON object)</span></label>
    <textarea id="f-kwargs" name="kwargs" rows="4" class="mono grow" spellcheck="false">{}</textarea>
    <p class="error" data-error-for="kwargs"></p>
  </div>
  <fieldset>
    <legend>Options</legend>
    <div class="row">
      <div class="field" data-field="options.queue">
        <label for="f-queue">Queue</label>
        <input id="f-queue" name="queue" list="queue-names" placeholder="task default">
        <datalist id="queue-names">${queues.map((q) => html`<option value="${q}">`)}</datalist>
        <p class="error" data-error-for="options.queue"></p>
      </div>
      <div class="field" data-field="options.priority">
        <label for="f-priority">Priority <span class="muted small">0-9, 0 first</span></label>
        <input id="f-priority" name="priority" type="number" min="0" max="9" step="1">
        <p class="error" data-error-for="options.priority"></p>
      </div>
      <div class="field" data-field="options.countdown">
        <label for="f-countdown">Countdown <span class="muted small">seconds</span></label>
        <input id="f-countdown" name="countdown" type="number" min="0" step="any">
        <p class="error" data-error-for="options.countdown"></p>
      </div>
      <div class="field" data-field="options.eta">
        <label for="f-eta">ETA <span class="muted small">in the page's time zone</span></label>
        <input id="f-eta" name="eta" type="datetime-local" step="1">
        <p class="error" data-error-for="options.eta"></p>
      </div>
      <div class="field" data-field="options.expires">
        <label for="f-expires">Expires <span class="muted small">seconds</span></label>
        <input id="f-expires" name="expires" type="number" min="1" step="any">
        <p class="error" data-error-for="options.expires"></p>
      </div>
    </div>
  </fieldset>
  <p class="error" data-error-for="_form"></p>
  <div class="actions"><button type="submit" class="button primary">Start task</button> <a class="button link" href="${p.base}/tasks">Cancel</a></div>
</form>`;
}
