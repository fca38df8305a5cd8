import { INTERVAL_PERIODS, SOLAR_EVENTS } from '../../beat/schedule';
import { html, prettyJson, type SafeHtml } from '../html';
import type { BeatInstanceJson, PeriodicTaskJson, PeriodicTaskListJson } from '../types';
import { time, type PageContext } from './layout';

export interface PeriodicFilterForm {
  enabled?: string;
  q?: string;
}

function beatBanner(beats: BeatInstanceJson[]): SafeHtml {
  if (beats.length === 0) {
    return html`<p class="banner warn" id="beat-status">No beat is running, so nothing below is sent on schedule. Start one with <code>celeriac beat --app src/celeriac.ts</code>.</p>`;
  }
  return html`<p class="banner ok" id="beat-status">${beats.length === 1 ? 'A beat is' : `${beats.length} beats are`} running (${beats.map((b) => b.beatId).join(', ')}); changes here reach ${beats.length === 1 ? 'it' : 'them'} within a second.</p>`;
}

function nextRun(t: PeriodicTaskJson): SafeHtml {
  if (t.lastError) return html`<span class="error-text" title="${t.lastError}">${t.lastError}</span>`;
  if (!t.enabled) return html`<span class="muted">disabled</span>`;
  // A crontab's runs read in its own zone ("At 04:00 every day, Europe/Berlin" beside 04:00 CET).
  const zone = t.schedule?.kind === 'crontab' ? (t.schedule as { timezone?: string }).timezone : undefined;
  if (t.nextRunAt) return time(t.nextRunAt, zone);
  if (t.nextRunExpectedAt)
    return html`${time(t.nextRunExpectedAt, zone)} <span class="muted small" title="A beat plans this run when it next looks at the row.">expected</span>`;
  return html`<span class="muted">none</span>`;
}

export function periodicListPage(
  p: PageContext,
  list: PeriodicTaskListJson,
  beats: BeatInstanceJson[],
  form: PeriodicFilterForm,
  saved?: PeriodicTaskJson,
) {
  return html`
<div class="title-row">
  <h1>Periodic tasks</h1>
  ${p.readOnly ? '' : html`<a class="button primary" href="${p.base}/periodic-tasks/new">Add periodic task</a>`}
</div>
${beatBanner(beats)}
${saved ? html`<p class="banner ok" role="status" id="saved">Saved “${saved.name}”.</p>` : ''}
<form class="filters" method="get" action="${p.base}/periodic-tasks" aria-label="Filter periodic tasks">
  <label>Status <select name="enabled">
    <option value="">Any</option>
    <option value="true"${form.enabled === 'true' ? html` selected` : ''}>Enabled</option>
    <option value="false"${form.enabled === 'false' ? html` selected` : ''}>Disabled</option>
  </select></label>
  <label>Search <input name="q" type="search" value="${form.q ?? ''}" placeholder="name, task or description"></label>
  <button type="submit">Filter</button>
  <a class="button link" href="${p.base}/periodic-tasks">Clear</a>
</form>
${
  p.readOnly
    ? ''
    : html`<div class="bulk" id="bulk">
  <span class="muted small" id="selected-count">0 selected</span>
  <button type="button" data-bulk="enable" disabled>Enable</button>
  <button type="button" data-bulk="disable" disabled>Disable</button>
  <button type="button" data-bulk="run" disabled>Run now</button>
  <button type="button" class="danger" data-bulk="delete" disabled>Delete</button>
  <span class="message" id="bulk-message" role="status"></span>
</div>`
}
<table id="periodic" class="periodic">
  <thead><tr>
    ${p.readOnly ? '' : html`<th class="check-col"><input type="checkbox" id="select-all" aria-label="Select all"></th>`}
    <th>Name</th><th>Task</th><th>Schedule</th><th>Status</th><th>Last run</th><th>Next run</th>${p.readOnly ? '' : html`<th></th>`}
  </tr></thead>
  <tbody>
  ${list.items.map(
    (t) => html`<tr data-id="${String(t.id)}" data-name="${t.name}">
    ${p.readOnly ? '' : html`<td class="check-col"><input type="checkbox" name="ids" value="${String(t.id)}" aria-label="Select ${t.name}"></td>`}
    <td><a href="${p.base}/periodic-tasks/${String(t.id)}"><strong>${t.name}</strong></a>
      ${t.source === 'code' ? html` <span class="pill" title="Declared in beatSchedule: edits last until the next beat start">code</span>` : ''}
      ${t.oneOff ? html` <span class="pill">one-off</span>` : ''}
      ${t.description ? html`<div class="muted small">${t.description}</div>` : ''}</td>
    <td class="mono">${t.task}</td>
    <td class="schedule-text">${t.scheduleText}</td>
    <td><span class="pill${t.enabled ? ' on' : ''}" data-field="enabled">${t.enabled ? 'enabled' : 'disabled'}</span></td>
    <td>${time(t.lastRunAt)}${t.totalRunCount ? html`<div class="muted small"><a href="${p.base}/tasks?periodicTask=${encodeURIComponent(t.name)}">${t.totalRunCount} run${t.totalRunCount === 1 ? '' : 's'}</a></div>` : ''}</td>
    <td class="next-run">${nextRun(t)}</td>
    ${p.readOnly ? '' : html`<td class="actions-col"><button type="button" class="small-button" data-run="${String(t.id)}">Run now</button></td>`}
  </tr>`,
  )}
  </tbody>
</table>
${list.items.length === 0 ? html`<p class="empty">No periodic tasks${form.q || form.enabled ? ' match these filters' : ' yet'}.</p>` : ''}
${list.total > list.items.length ? html`<p class="muted small">Showing ${list.items.length} of ${list.total}; narrow the search to find others.</p>` : ''}`;
}

function field(name: string, label: string | SafeHtml, control: SafeHtml, help?: string): SafeHtml {
  return html`<div class="field" data-field="${name}">
  <label for="f-${name.replace(/\./g, '-')}">${label}</label>
  ${control}
  ${help ? html`<p class="help">${help}</p>` : ''}
  <p class="error" data-error-for="${name}"></p>
</div>`;
}

const id = (name: string) => `f-${name.replace(/\./g, '-')}`;

function input(name: string, value: unknown, attrs: SafeHtml = html``): SafeHtml {
  return html`<input id="${id(name)}" name="${name}" value="${value === null || value === undefined ? '' : String(value)}" ${attrs}>`;
}

export interface PeriodicFormData {
  task: PeriodicTaskJson | null;
  taskNames: string[];
  queues: string[];
  zones: string[];
  defaultTimezone: string;
}

/** django-celery-beat's change form: main fields, the schedule (one of four kinds), arguments, execution options. */
export function periodicFormPage(p: PageContext, d: PeriodicFormData) {
  const t = d.task;
  const s = t?.schedule ?? null;
  const kind = s?.kind ?? 'crontab';
  const cron = s?.kind === 'crontab' ? s : null;
  const every = s?.kind === 'interval' ? s : null;
  const solar = s?.kind === 'solar' ? s : null;
  const clocked = s?.kind === 'clocked' ? s : null;
  const kinds: [string, string][] = [
    ['crontab', 'Crontab'],
    ['interval', 'Interval'],
    ['solar', 'Solar'],
    ['clocked', 'Clocked (once)'],
  ];
  const checked = (on: boolean) => (on ? html` checked` : '');
  const selected = (on: boolean) => (on ? html` selected` : '');
  return html`
<p class="crumbs"><a href="${p.base}/periodic-tasks">Periodic tasks</a> /</p>
<div class="title-row">
  <h1>${t ? html`Edit <span class="mono">${t.name}</span>` : 'Add periodic task'}</h1>
  ${
    t && !p.readOnly
      ? html`<div class="actions"><button type="button" class="button" data-action="run-periodic">Run now</button>
      <button type="button" class="button danger" data-action="delete-periodic">Delete</button></div>`
      : ''
  }
</div>
${t?.source === 'code' ? html`<p class="banner warn">Declared in code (beatSchedule): changes made here last until the next beat start.</p>` : ''}
${t?.lastError ? html`<p class="banner warn">Beat is not running this task: ${t.lastError}</p>` : ''}
<p class="message" id="action-message" role="status"></p>
<form class="stacked wide-form" id="periodic-form" novalidate data-id="${t ? String(t.id) : ''}" data-default-timezone="${d.defaultTimezone}">
  <div class="row">
    ${field('name', 'Name', input('name', t?.name, html`required maxlength="200" autocomplete="off"`), 'Unique; results of its runs carry it as the periodic task name.')}
    ${field('task', 'Task', html`${input('task', t?.task, html`required list="task-names" autocomplete="off" placeholder="reports.nightly"`)}<datalist id="task-names">${d.taskNames.map((n) => html`<option value="${n}">`)}</datalist>`, 'A registered task (or one routed to another service).')}
  </div>
  <div class="row">
    <div class="field" data-field="enabled"><label class="check"><input type="checkbox" id="f-enabled" name="enabled"${checked(t ? t.enabled : true)}> Enabled</label><p class="error" data-error-for="enabled"></p></div>
    <div class="field" data-field="oneOff"><label class="check"><input type="checkbox" id="f-oneOff" name="oneOff"${checked(!!t?.oneOff)}> One-off <span class="muted small">(run once, then disable)</span></label><p class="error" data-error-for="oneOff"></p></div>
  </div>
  ${field('description', 'Description', html`<textarea id="f-description" name="description" rows="2">${t?.description ?? ''}</textarea>`)}

  <fieldset>
    <legend>Schedule</legend>
    <div class="kinds" role="radiogroup" aria-label="Schedule kind">
      ${kinds.map(([k, label]) => html`<label><input type="radio" name="kind" value="${k}"${checked(kind === k)}> ${label}</label>`)}
    </div>
    <p class="error" data-error-for="schedule"></p><p class="error" data-error-for="schedule.kind"></p>
    <div class="kind-fields" data-kind="crontab"${kind === 'crontab' ? '' : html` hidden`}>
      <div class="row cron-row">
        ${field('schedule.minute', 'Minute', input('schedule.minute', cron?.minute ?? '0', html`class="mono" autocomplete="off"`), '0-59, e.g. 30 or */15')}
        ${field('schedule.hour', 'Hour', input('schedule.hour', cron?.hour ?? '*', html`class="mono" autocomplete="off"`), '0-23, e.g. 2 or 9-17')}
        ${field('schedule.dayOfMonth', 'Day of month', input('schedule.dayOfMonth', cron?.dayOfMonth ?? '*', html`class="mono" autocomplete="off"`), '1-31')}
        ${field('schedule.monthOfYear', 'Month', input('schedule.monthOfYear', cron?.monthOfYear ?? '*', html`class="mono" autocomplete="off"`), '1-12')}
        ${field('schedule.dayOfWeek', 'Day of week', input('schedule.dayOfWeek', cron?.dayOfWeek ?? '*', html`class="mono" autocomplete="off"`), '0-6 or mon-fri, Sunday = 0')}
      </div>
      ${field('schedule.timezone', 'Time zone', html`${input('schedule.timezone', cron?.timezone ?? d.defaultTimezone, html`list="zones" autocomplete="off"`)}<datalist id="zones">${d.zones.map((z) => html`<option value="${z}">`)}</datalist>`, 'IANA name, e.g. Europe/Berlin; runs follow its daylight-saving changes.')}
    </div>
    <div class="kind-fields" data-kind="interval"${kind === 'interval' ? '' : html` hidden`}>
      <div class="row">
        ${field('schedule.every', 'Every', input('schedule.every', every?.every ?? 5, html`type="number" min="1" step="1"`))}
        ${field('schedule.period', 'Period', html`<select id="f-schedule-period" name="schedule.period">${INTERVAL_PERIODS.map((x) => html`<option${selected((every?.period ?? 'minutes') === x)}>${x}</option>`)}</select>`)}
      </div>
    </div>
    <div class="kind-fields" data-kind="solar"${kind === 'solar' ? '' : html` hidden`}>
      <div class="row">
        ${field('schedule.event', 'Event', html`<select id="f-schedule-event" name="schedule.event">${SOLAR_EVENTS.map((x) => html`<option${selected((solar?.event ?? 'sunrise') === x)}>${x}</option>`)}</select>`)}
        ${field('schedule.latitude', 'Latitude', input('schedule.latitude', solar?.latitude ?? '', html`type="number" step="any" min="-90" max="90" placeholder="52.52"`), '-90 to 90, north positive')}
        ${field('schedule.longitude', 'Longitude', input('schedule.longitude', solar?.longitude ?? '', html`type="number" step="any" min="-180" max="180" placeholder="13.405"`), '-180 to 180, east positive')}
      </div>
    </div>
    <div class="kind-fields" data-kind="clocked"${kind === 'clocked' ? '' : html` hidden`}>
      ${field('schedule.clockedTime', html`Run at <span class="muted small">(your local time)</span>`, html`<input id="f-schedule-clockedTime" name="schedule.clockedTime" type="datetime-local" step="1" data-iso="${clocked?.clockedTime ?? ''}">`)}
    </div>
    <div class="preview" id="preview" aria-live="polite"><strong id="preview-text">${t?.scheduleText ?? ''}</strong><ol id="preview-runs"></ol></div>
  </fieldset>

  <fieldset>
    <legend>Arguments</legend>
    ${field('args', html`Positional arguments <span class="muted small">(a JSON array)</span>`, html`<textarea id="f-args" name="args" rows="4" class="mono grow" spellcheck="false">${prettyJson(t?.args ?? [])}</textarea>`)}
    ${field('kwargs', html`Keyword arguments <span class="muted small">(a JSON object)</span>`, html`<textarea id="f-kwargs" name="kwargs" rows="4" class="mono grow" spellcheck="false">${prettyJson(t?.kwargs ?? {})}</textarea>`)}
  </fieldset>

  <fieldset>
    <legend>Execution options</legend>
    <div class="row">
      ${field('queue', 'Queue', html`${input('queue', t?.queue, html`list="queue-names" autocomplete="off" placeholder="task default"`)}<datalist id="queue-names">${d.queues.map((q) => html`<option value="${q}">`)}</datalist>`)}
      ${field('priority', html`Priority <span class="muted small">0-255, 0 first</span>`, input('priority', t?.priority, html`type="number" min="0" max="255" step="1"`))}
      ${field('catchUp', 'After downtime', html`<select id="f-catchUp" name="catchUp"><option value="once"${selected((t?.catchUp ?? 'once') === 'once')}>run a missed run once</option><option value="skip"${selected(t?.catchUp === 'skip')}>skip missed runs</option></select>`)}
    </div>
    <div class="row">
      ${field('startTime', html`Start time <span class="muted small">(not before; local)</span>`, html`<input id="f-startTime" name="startTime" type="datetime-local" step="1" data-iso="${t?.startTime ?? ''}">`)}
      ${field('expires', html`Expires at <span class="muted small">(local)</span>`, html`<input id="f-expires" name="expires" type="datetime-local" step="1" data-iso="${t?.expires ?? ''}">`)}
      ${field('expireSeconds', html`or expires after <span class="muted small">seconds</span>`, input('expireSeconds', t?.expireSeconds, html`type="number" min="1" step="1"`))}
    </div>
    ${field('headers', html`Headers <span class="muted small">(a JSON object)</span>`, html`<textarea id="f-headers" name="headers" rows="4" class="mono grow" spellcheck="false">${prettyJson(t?.headers ?? {})}</textarea>`)}
    <div class="row">
      ${field('exchange', 'Exchange', input('exchange', t?.exchange, html`autocomplete="off"`))}
      ${field('routingKey', 'Routing key', input('routingKey', t?.routingKey, html`autocomplete="off"`))}
    </div>
  </fieldset>
  <p class="error" data-error-for="_form"></p>
  <div class="actions"><button type="submit" class="button primary">Save</button> <a class="button link" href="${p.base}/periodic-tasks">Cancel</a></div>
</form>
${t ? html`<p class="muted small">Last changed ${time(t.dateChanged)} · ${t.totalRunCount} run${t.totalRunCount === 1 ? '' : 's'} · last run ${time(t.lastRunAt)}</p>` : ''}`;
}
