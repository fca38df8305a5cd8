/*
 * Celeriac admin pages: live updates, forms and actions. Plain browser JavaScript, no build step.
 * Rule: data from the server reaches the DOM through textContent / attributes only, never
 * innerHTML, so task arguments, results and names are always shown as text.
 */
(function () {
  'use strict';
  var body = document.body;
  var base = body.dataset.base || '';
  var page = body.dataset.page;
  var csrfMeta = document.querySelector('meta[name="celeriac-csrf"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute('content') : '';

  // ---------- small helpers ----------
  function $(sel, root) {
    return (root || document).querySelector(sel);
  }
  function $all(sel, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(sel));
  }

  /** el('a', { href: x, className: 'y' }, 'text', childNode): builds DOM without parsing HTML. */
  function el(tag, props) {
    var node = document.createElement(tag);
    if (props)
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'className') node.className = v;
        else if (k === 'dataset')
          Object.keys(v).forEach(function (d) {
            node.dataset[d] = v[d];
          });
        else if (k === 'text') node.textContent = v;
        else node.setAttribute(k, v === true ? '' : String(v));
      });
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child))
      return child.forEach(function (c) {
        append(node, c);
      });
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }

  function api(method, path, payload) {
    var init = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (method !== 'GET') {
      init.headers['Content-Type'] = 'application/json';
      init.headers['X-CSRF-Token'] = csrf;
      init.body = JSON.stringify(payload || {});
    }
    return fetch(path.charAt(0) === '/' ? path : base + '/' + path, init).then(function (res) {
      return res.text().then(function (text) {
        var json = null;
        try {
          json = text ? JSON.parse(text) : null;
        } catch (e) {
          json = { error: 'bad_response', message: text.slice(0, 200) };
        }
        return { ok: res.ok, status: res.status, body: json || {} };
      });
    });
  }

  function pad(n) {
    return n < 10 ? '0' + n : String(n);
  }
  // Times show in the browser's zone or in UTC, as the visitor chose (remembered), always with the zone named.
  var zone = 'local';
  try {
    zone = window.localStorage.getItem('celeriac-zone') === 'utc' ? 'utc' : 'local';
  } catch (e) {}
  function zoneName() {
    if (zone === 'utc') return 'UTC';
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local';
    } catch (e) {
      return 'local';
    }
  }
  function localTime(iso) {
    if (!iso) return '—';
    var d = new Date(iso);
    var u = zone === 'utc';
    return (
      (u ? d.getUTCFullYear() : d.getFullYear()) +
      '-' +
      pad((u ? d.getUTCMonth() : d.getMonth()) + 1) +
      '-' +
      pad(u ? d.getUTCDate() : d.getDate()) +
      ' ' +
      pad(u ? d.getUTCHours() : d.getHours()) +
      ':' +
      pad(u ? d.getUTCMinutes() : d.getMinutes()) +
      ':' +
      pad(u ? d.getUTCSeconds() : d.getSeconds()) +
      ' ' +
      zoneName()
    );
  }
  function initZonePick() {
    var pick = $('#zone-pick');
    if (!pick) return;
    pick.value = zone;
    pick.addEventListener('change', function () {
      zone = pick.value === 'utc' ? 'utc' : 'local';
      try {
        window.localStorage.setItem('celeriac-zone', zone);
      } catch (e) {}
      localizeTimes(document);
      document.dispatchEvent(new CustomEvent('celeriac:zone'));
    });
  }
  function timeEl(iso) {
    if (!iso) return el('span', { className: 'muted', text: '—' });
    return el('time', { datetime: iso, title: iso, text: localTime(iso) });
  }
  /** A time in a named IANA zone (a crontab's own), with the zone's short name. */
  function zonedTime(iso, tz) {
    try {
      var parts = {};
      new Intl.DateTimeFormat('en-GB', {
        timeZone: tz,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
        timeZoneName: 'short',
      })
        .formatToParts(new Date(iso))
        .forEach(function (p) {
          parts[p.type] = p.value;
        });
      return (
        parts.year +
        '-' +
        parts.month +
        '-' +
        parts.day +
        ' ' +
        parts.hour +
        ':' +
        parts.minute +
        ':' +
        parts.second +
        ' ' +
        tz +
        (parts.timeZoneName && parts.timeZoneName !== tz ? ' (' + parts.timeZoneName + ')' : '')
      );
    } catch (e) {
      return localTime(iso);
    }
  }
  function localizeTimes(root) {
    $all('time[datetime]', root).forEach(function (t) {
      var iso = t.getAttribute('datetime');
      t.title = iso;
      t.textContent = t.dataset.zone ? zonedTime(iso, t.dataset.zone) : localTime(iso);
    });
  }
  function duration(ms) {
    if (ms === null || ms === undefined) return '—';
    if (ms < 1000) return ms + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
    var m = Math.floor(ms / 60000);
    return m < 60
      ? m + ' min ' + Math.round((ms % 60000) / 1000) + ' s'
      : Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }
  function shortId(id) {
    return id.length > 13 ? id.slice(0, 8) + '…' : id;
  }
  function badge(state) {
    return el('span', {
      className: 'badge state-' + String(state).toLowerCase(),
      dataset: { state: state },
      text: state,
    });
  }
  function taskHref(id) {
    return base + '/tasks/' + encodeURIComponent(id);
  }
  function debounce(fn, ms) {
    var t = null;
    return function () {
      clearTimeout(t);
      t = setTimeout(fn, ms);
    };
  }

  /** Show a 400's per-field messages next to their inputs; fields without a slot go to _form. */
  function showErrors(form, errors, message) {
    clearErrors(form);
    var leftovers = [];
    Object.keys(errors || {}).forEach(function (field) {
      var slot = form.querySelector('[data-error-for="' + cssEscape(field) + '"]');
      if (!slot) return leftovers.push(field + ': ' + errors[field]);
      slot.textContent = errors[field];
      var wrap = slot.closest('.field');
      if (wrap) wrap.classList.add('invalid');
    });
    var general = form.querySelector('[data-error-for="_form"]');
    if (general)
      general.textContent = leftovers.length ? leftovers.join(' · ') : errors ? '' : message || 'Something went wrong.';
    var first = form.querySelector('.field.invalid input, .field.invalid select, .field.invalid textarea');
    if (first) first.focus();
  }
  function clearErrors(form) {
    $all('[data-error-for]', form).forEach(function (s) {
      s.textContent = '';
    });
    $all('.field.invalid', form).forEach(function (f) {
      f.classList.remove('invalid');
    });
  }
  function cssEscape(s) {
    return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, '\\$&');
  }

  // ---------- live events (one EventSource per page) ----------
  var listeners = [];
  var liveBadge = $('#live');
  var live = false;
  function onEvent(fn) {
    listeners.push(fn);
  }
  function connect() {
    if (!window.EventSource) return;
    var source = new EventSource(base + '/api/events');
    function setLive(on) {
      live = on;
      if (liveBadge) {
        liveBadge.classList.toggle('on', on);
        liveBadge.textContent = on ? 'live' : 'offline';
      }
    }
    source.addEventListener('ready', function () {
      setLive(true);
    });
    source.addEventListener('unavailable', function () {
      setLive(false);
    });
    source.onerror = function () {
      setLive(false);
    };
    ['task', 'worker'].forEach(function (kind) {
      source.addEventListener(kind, function (e) {
        var data;
        try {
          data = JSON.parse(e.data);
        } catch (err) {
          return;
        }
        listeners.forEach(function (fn) {
          fn(data);
        });
      });
    });
    window.addEventListener('pagehide', function () {
      source.close();
    });
  }

  // ---------- dashboard ----------
  /** Succeeded and failed per minute, stacked, with the chart helper the per-task charts use (admin-flower.js). */
  function drawChart(container, buckets) {
    window.CeleriacCharts.drawSeries(
      helpers,
      container,
      buckets.map(function (b) {
        return Date.parse(b.minute);
      }),
      [
        {
          label: 'succeeded',
          cls: 'ok',
          values: buckets.map(function (b) {
            return b.succeeded;
          }),
        },
        {
          label: 'failed',
          cls: 'bad',
          values: buckets.map(function (b) {
            return b.failed;
          }),
        },
      ],
      { bars: true },
    );
  }

  function initDashboard() {
    var chart = $('#chart');
    function refresh() {
      api('GET', 'api/stats').then(function (r) {
        if (!r.ok) return;
        var st = r.body;
        drawChart(chart, st.throughput);
        $all('#counts .num[data-states]').forEach(function (n) {
          n.textContent = n.dataset.states.split(',').reduce(function (sum, s) {
            return sum + (st.counts[s] || 0);
          }, 0);
        });
        var online = $('#workers-online');
        if (online) online.textContent = st.workersOnline;
        var tbody = $('#queues tbody');
        if (tbody) {
          tbody.textContent = '';
          st.queues.forEach(function (q) {
            tbody.appendChild(
              el('tr', null, el('td', { text: q.name }), el('td', { className: 'num', text: q.length })),
            );
          });
          tbody.appendChild(
            el(
              'tr',
              { className: 'muted' },
              el('td', { text: 'delayed (countdown / eta / retry)' }),
              el('td', { className: 'num', text: st.delayed === null ? '—' : st.delayed }),
            ),
          );
        }
      });
    }
    refresh();
    setInterval(refresh, 10000);
    onEvent(debounce(refresh, 1500));
    document.addEventListener('celeriac:zone', refresh);
  }

  // ---------- tasks list ----------
  function taskRow(t) {
    var args = el('td', { className: 'mono clip', title: t.argsPreview || '' }, t.argsPreview || '');
    if (t.kwargsPreview && t.kwargsPreview !== '{}')
      append(args, [' ', el('span', { className: 'muted', text: t.kwargsPreview })]);
    var name = el('td', null, el('a', { href: taskHref(t.id), text: t.name || '(unnamed)' }));
    if (t.periodicTaskName)
      append(name, el('div', { className: 'muted small', text: 'periodic: ' + t.periodicTaskName }));
    var state = el('td', null, badge(t.state));
    if (t.progress && t.progress.percent !== null && t.progress.percent !== undefined)
      append(state, [' ', el('span', { className: 'muted small', text: t.progress.percent + '%' })]);
    return el(
      'tr',
      { dataset: { id: t.id } },
      state,
      name,
      el('td', null, el('a', { className: 'mono', href: taskHref(t.id), title: t.id, text: shortId(t.id) })),
      args,
      el('td', { className: 'mono clip', title: t.resultPreview || '' }, t.resultPreview || ''),
      el('td', null, t.worker || el('span', { className: 'muted', text: '—' })),
      el('td', null, timeEl(t.dateCreated)),
      el('td', { className: 'num', text: duration(t.runtimeMs) }),
    );
  }

  function initTasks() {
    var table = $('#tasks');
    if (!table || body.dataset.live !== '1') return;
    var tbody = table.tBodies[0];
    function reload() {
      api('GET', table.dataset.api).then(function (r) {
        if (!r.ok) return;
        var before = {};
        $all('tr[data-id]', tbody).forEach(function (tr) {
          before[tr.dataset.id] = tr.querySelector('.badge').dataset.state;
        });
        tbody.textContent = '';
        r.body.items.forEach(function (t) {
          var tr = taskRow(t);
          if (before[t.id] !== t.state) tr.classList.add('flash');
          tbody.appendChild(tr);
        });
        var total = $('#total');
        if (total) total.textContent = r.body.total + (r.body.totalCapped ? '+' : '');
        var empty = $('#empty');
        if (empty) empty.hidden = r.body.items.length > 0;
      });
    }
    var soon = debounce(reload, 400);
    onEvent(function (e) {
      if (e.kind !== 'task') return;
      var tr = tbody.querySelector('tr[data-id="' + cssEscape(e.id) + '"]');
      if (tr && e.state) {
        var cell = tr.cells[0];
        cell.textContent = '';
        cell.appendChild(badge(e.state));
        tr.classList.remove('flash');
        void tr.offsetWidth;
        tr.classList.add('flash');
      }
      soon();
    });
    // Without the event stream (events off, proxy trouble) the table still refreshes.
    setInterval(function () {
      if (!live) reload();
    }, 5000);
  }

  // ---------- start a task ----------
  function initNewTask() {
    var form = $('#new-task');
    var hint = $('#task-params');
    function showParams() {
      var opt = form.elements.task.selectedOptions[0];
      var params = opt && opt.dataset.params;
      hint.textContent =
        params === undefined
          ? ''
          : params === ''
            ? 'Takes no arguments.'
            : 'Parameters, in order: ' + params + ' (positional arguments fill them from the left).';
    }
    form.elements.task.addEventListener('change', showParams);
    showParams();
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      clearErrors(form);
      var errors = {};
      function parse(name, expect) {
        var text = form.elements[name].value.trim();
        if (!text) return undefined;
        try {
          var v = JSON.parse(text);
          if (expect === 'array' && !Array.isArray(v)) errors[name] = 'expected a JSON array, e.g. [1, "two"]';
          if (expect === 'object' && (v === null || typeof v !== 'object' || Array.isArray(v)))
            errors[name] = 'expected a JSON object, e.g. {"verbose": true}';
          return v;
        } catch (err) {
          errors[name] = 'not valid JSON: ' + err.message;
        }
      }
      var payload = {
        task: form.elements.task.value,
        args: parse('args', 'array'),
        kwargs: parse('kwargs', 'object'),
        options: {},
      };
      var o = payload.options;
      if (form.elements.queue.value.trim()) o.queue = form.elements.queue.value.trim();
      ['priority', 'countdown', 'expires'].forEach(function (k) {
        var v = form.elements[k].value;
        if (v !== '') o[k] = Number(v);
      });
      // The ETA box is in the page's zone: the browser's, or UTC when chosen in the header.
      if (form.elements.eta.value)
        o.eta = new Date(form.elements.eta.value + (zone === 'utc' ? 'Z' : '')).toISOString();
      if (Object.keys(errors).length) return showErrors(form, errors);
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      api('POST', 'api/tasks', payload).then(
        function (r) {
          button.disabled = false;
          if (r.ok) {
            window.location.href = r.body.pageUrl;
            return;
          }
          showErrors(form, r.body.errors, r.body.message);
        },
        function () {
          button.disabled = false;
          showErrors(form, null, 'The server could not be reached.');
        },
      );
    });
  }

  // ---------- task detail ----------
  function setPre(id, value) {
    var n = $('#' + id);
    if (n) n.textContent = value === undefined ? '' : JSON.stringify(value, null, 2);
  }
  function renderTask(t) {
    var st = $('#task-state');
    st.textContent = '';
    st.appendChild(badge(t.state));
    $('#task-worker').textContent = t.worker || '—';
    $('#task-retries').textContent = t.retries;
    [
      ['date-created', t.dateCreated],
      ['date-started', t.dateStarted],
      ['date-done', t.dateDone],
    ].forEach(function (p) {
      var dd = $('#' + p[0]);
      dd.textContent = '';
      dd.appendChild(timeEl(p[1]));
    });
    $('#runtime').textContent = duration(t.runtimeMs);
    var prog = $('#progress');
    prog.hidden = !t.progress;
    if (t.progress) {
      $('#progress-fill').style.width = (t.progress.percent || 0) + '%';
      $('#progress-text').textContent = t.progress.done + ' / ' + (t.progress.total === null ? '?' : t.progress.total);
    }
    $('#result-panel').hidden = t.state !== 'SUCCESS';
    setPre('task-result', t.result);
    $('#error-panel').hidden = !t.error;
    if (t.error) {
      $('#error-type').textContent = t.error.type;
      $('#error-message').textContent = t.error.message;
      var stack = $('#error-stack');
      if (stack) stack.textContent = t.error.stack || '';
    }
    $('#meta-panel').hidden = !t.meta;
    setPre('task-meta', t.meta);
    var canRevoke = !t.ready,
      canRetry = ['FAILURE', 'REVOKED', 'REJECTED'].indexOf(t.state) >= 0;
    $all('[data-action="revoke"], [data-action="terminate"]').forEach(function (b) {
      b.hidden = !canRevoke;
    });
    $all('[data-action="retry"]').forEach(function (b) {
      b.hidden = !canRetry;
    });
  }

  function initTask() {
    var id = body.dataset.taskId;
    var msg = $('#action-message');
    var fill = $('#progress-fill');
    if (fill) fill.style.width = (fill.dataset.percent || 0) + '%';
    function refreshDetail() {
      return api('GET', 'api/tasks/' + encodeURIComponent(id) + '/detail').then(function (r) {
        if (r.ok) renderTask(r.body);
      });
    }
    var poller = null;
    function follow() {
      if (poller || !window.CeleriacStatus) return;
      poller = window.CeleriacStatus.poll(id, {
        url: base + '/api/tasks/{id}',
        intervalMs: 1000,
        onProgress: function () {
          refreshDetail();
        },
        onDone: function () {
          poller = null;
          refreshDetail();
        },
      });
    }
    var stateNow = $('#task-state .badge').dataset.state;
    if (['SUCCESS', 'FAILURE', 'REVOKED', 'REJECTED'].indexOf(stateNow) < 0) follow();
    onEvent(function (e) {
      if (e.kind === 'task' && e.id === id) refreshDetail();
    });
    $all('[data-action]').forEach(function (button) {
      button.addEventListener('click', function () {
        var action = button.dataset.action;
        if (action === 'terminate' && !window.confirm('Terminate the running task? Its work stops where it is.'))
          return;
        button.disabled = true;
        msg.className = 'message';
        msg.textContent = '';
        var path = 'api/tasks/' + encodeURIComponent(id) + '/' + (action === 'retry' ? 'retry' : 'revoke');
        api('POST', path, action === 'retry' ? {} : { terminate: action === 'terminate' }).then(function (r) {
          button.disabled = false;
          if (!r.ok) {
            msg.className = 'message bad';
            msg.textContent = r.body.message || 'Failed.';
            return;
          }
          if (action === 'retry') {
            msg.className = 'message ok';
            msg.textContent = 'Sent again as ';
            msg.appendChild(el('a', { href: r.body.pageUrl, className: 'mono', text: r.body.id }));
            return;
          }
          msg.className = 'message ok';
          msg.textContent = action === 'terminate' ? 'Revoked and told the worker to terminate it.' : 'Revoked.';
          renderTask(r.body);
        });
      });
    });
  }

  // ---------- workers ----------
  function initWorkers() {
    var tbody = $('#workers tbody');
    function age(ms) {
      if (ms === null) return 'never';
      if (ms < 1500) return 'just now';
      if (ms < 90000) return Math.round(ms / 1000) + ' s ago';
      if (ms < 5400000) return Math.round(ms / 60000) + ' min ago';
      return Math.round(ms / 3600000) + ' h ago';
    }
    function refresh() {
      api('GET', 'api/workers').then(function (r) {
        if (!r.ok) return;
        tbody.textContent = '';
        r.body.workers.forEach(function (w) {
          tbody.appendChild(
            el(
              'tr',
              { dataset: { name: w.name } },
              el(
                'td',
                null,
                el('a', { href: base + '/workers/' + encodeURIComponent(w.name) }, el('strong', { text: w.name })),
                el('div', {
                  className: 'muted small',
                  text: (w.hostname || '') + (w.pid !== null ? ' · pid ' + w.pid : ''),
                }),
              ),
              el(
                'td',
                null,
                el('span', {
                  className: 'badge ' + (w.status === 'online' ? 'state-success' : 'state-revoked'),
                  dataset: { field: 'status' },
                  text: w.status,
                }),
              ),
              el('td', { text: w.queues.join(', ') }),
              el('td', { text: (w.pool || '—') + (w.concurrency !== null ? ' × ' + w.concurrency : '') }),
              el('td', { className: 'num', dataset: { field: 'active' }, text: w.active }),
              el('td', { className: 'num', dataset: { field: 'processed' }, text: w.processed }),
              el('td', { className: 'num', dataset: { field: 'succeeded' }, text: w.succeeded }),
              el('td', { className: 'num', dataset: { field: 'failed' }, text: w.failed }),
              el('td', { className: 'num', dataset: { field: 'retried' }, text: w.retried }),
              el('td', null, timeEl(w.startedAt)),
              el('td', { dataset: { field: 'heartbeat' }, text: age(w.heartbeatAgeMs) }),
            ),
          );
        });
      });
    }
    onEvent(function (e) {
      if (e.kind !== 'worker') return;
      var tr = tbody.querySelector('tr[data-name="' + cssEscape(e.name) + '"]');
      if (!tr) return refresh();
      ['active', 'processed', 'succeeded', 'failed', 'retried'].forEach(function (f) {
        var cell = tr.querySelector('[data-field="' + f + '"]');
        if (cell && e[f] !== undefined) cell.textContent = e[f];
      });
      var hb = tr.querySelector('[data-field="heartbeat"]');
      if (hb) hb.textContent = e.type === 'worker-offline' ? 'stopped' : 'just now';
      var status = tr.querySelector('[data-field="status"]');
      if (status) {
        var online = e.type !== 'worker-offline';
        status.textContent = online ? 'online' : 'offline';
        status.className = 'badge ' + (online ? 'state-success' : 'state-revoked');
      }
    });
    setInterval(refresh, 5000);
  }

  // ---------- every form ----------
  // A field's error goes as soon as it is edited: the message was about the old value.
  function clearFieldError(e) {
    var f = e.target && e.target.closest && e.target.closest('.field.invalid');
    if (!f) return;
    f.classList.remove('invalid');
    $all('[data-error-for]', f).forEach(function (slot) {
      slot.textContent = '';
    });
  }
  document.addEventListener('input', clearFieldError, true);
  document.addEventListener('change', clearFieldError, true);
  // JSON boxes grow with their content (pretty-printed arguments are several lines).
  function grow(ta) {
    ta.style.height = 'auto';
    ta.style.height = Math.min(ta.scrollHeight + 4, 480) + 'px';
  }
  $all('textarea.grow').forEach(grow);
  document.addEventListener('input', function (e) {
    if (e.target && e.target.matches && e.target.matches('textarea.grow')) grow(e.target);
  });

  // ---------- boot ----------
  var helpers = {
    $: $,
    $all: $all,
    el: el,
    api: api,
    base: base,
    pad: pad,
    shortId: shortId,
    debounce: debounce,
    showErrors: showErrors,
    clearErrors: clearErrors,
    cssEscape: cssEscape,
    onEvent: onEvent,
    localTime: localTime,
    timeEl: timeEl,
    zoneName: zoneName,
    append: append,
    badge: badge,
    duration: duration,
  };
  window.CeleriacAdmin = helpers;
  localizeTimes(document);
  initZonePick();
  // Page scripts in other files (admin-periodic.js) load first and register here.
  var inits = Object.assign(
    { dashboard: initDashboard, tasks: initTasks, 'new-task': initNewTask, task: initTask, workers: initWorkers },
    window.CeleriacPages || {},
  );
  if (inits[page]) inits[page](helpers);
  if (page !== 'new-task' && page !== 'periodic-form' && page !== 'periodic') connect();
  else if (liveBadge) liveBadge.hidden = true;
  document.dispatchEvent(new CustomEvent('celeriac:ready'));
})();
