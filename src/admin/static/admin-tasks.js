/*
 * Celeriac admin: the task pages — the live task list, the form that starts a task, and a task's
 * page (state, result or error, progress, revoke / terminate / retry). Registers into
 * window.CeleriacPages; admin.js starts the page. Same rule as admin-core.js: data reaches the DOM
 * through textContent and attributes only.
 */
(function () {
  'use strict';
  var pages = (window.CeleriacPages = window.CeleriacPages || {});
  var h = window.CeleriacAdmin;
  var body = document.body;
  var $ = h.$,
    $all = h.$all,
    el = h.el,
    api = h.api;

  // ---------- tasks list ----------
  function taskRow(t) {
    var args = el('td', { className: 'mono clip', title: t.argsPreview || '' }, t.argsPreview || '');
    if (t.kwargsPreview && t.kwargsPreview !== '{}')
      h.append(args, [' ', el('span', { className: 'muted', text: t.kwargsPreview })]);
    var name = el('td', null, el('a', { href: h.taskHref(t.id), text: t.name || '(unnamed)' }));
    if (t.periodicTaskName)
      h.append(name, el('div', { className: 'muted small', text: 'periodic: ' + t.periodicTaskName }));
    var state = el('td', null, h.badge(t.state));
    if (t.progress && t.progress.percent !== null && t.progress.percent !== undefined)
      h.append(state, [' ', el('span', { className: 'muted small', text: t.progress.percent + '%' })]);
    return el(
      'tr',
      { dataset: { id: t.id } },
      state,
      name,
      el('td', null, el('a', { className: 'mono', href: h.taskHref(t.id), title: t.id, text: h.shortId(t.id) })),
      args,
      el('td', { className: 'mono clip', title: t.resultPreview || '' }, t.resultPreview || ''),
      el('td', null, t.worker || el('span', { className: 'muted', text: '—' })),
      el('td', null, h.timeEl(t.dateCreated)),
      el('td', { className: 'num', text: h.duration(t.runtimeMs) }),
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
    var soon = h.debounce(reload, 400);
    h.onEvent(function (e) {
      if (e.kind !== 'task') return;
      var tr = tbody.querySelector('tr[data-id="' + h.cssEscape(e.id) + '"]');
      if (tr && e.state) {
        var cell = tr.cells[0];
        cell.textContent = '';
        cell.appendChild(h.badge(e.state));
        tr.classList.remove('flash');
        void tr.offsetWidth;
        tr.classList.add('flash');
      }
      soon();
    });
    // Without the event stream (events off, proxy trouble) the table still refreshes.
    setInterval(function () {
      if (!h.isLive()) reload();
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
      h.clearErrors(form);
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
        o.eta = new Date(form.elements.eta.value + (h.zone() === 'utc' ? 'Z' : '')).toISOString();
      if (Object.keys(errors).length) return h.showErrors(form, errors);
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      api('POST', 'api/tasks', payload).then(
        function (r) {
          button.disabled = false;
          if (r.ok) {
            window.location.href = r.body.pageUrl;
            return;
          }
          h.showErrors(form, r.body.errors, r.body.message);
        },
        function () {
          button.disabled = false;
          h.showErrors(form, null, 'The server could not be reached.');
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
    st.appendChild(h.badge(t.state));
    $('#task-worker').textContent = t.worker || '—';
    $('#task-retries').textContent = t.retries;
    [
      ['date-created', t.dateCreated],
      ['date-started', t.dateStarted],
      ['date-done', t.dateDone],
    ].forEach(function (p) {
      var dd = $('#' + p[0]);
      dd.textContent = '';
      dd.appendChild(h.timeEl(p[1]));
    });
    $('#runtime').textContent = h.duration(t.runtimeMs);
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
        url: h.base + '/api/tasks/{id}',
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
    h.onEvent(function (e) {
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

  pages.tasks = initTasks;
  pages['new-task'] = initNewTask;
  pages.task = initTask;
})();
