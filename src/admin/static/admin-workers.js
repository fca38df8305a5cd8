/*
 * Celeriac admin: the workers — the list (live counters from worker events) and a worker's page
 * with its stats, tasks, configuration and remote controls. Registers into window.CeleriacPages;
 * admin.js starts the page. Same rule as admin-core.js: data reaches the DOM through textContent
 * and attributes only.
 */
(function () {
  'use strict';
  var pages = (window.CeleriacPages = window.CeleriacPages || {});
  var h = window.CeleriacAdmin;
  var REFRESH_MS = 5000;
  var answer = h.answer,
    describe = h.describe,
    rows = h.rows;

  function argsText(t) {
    var a = JSON.stringify(t.args || []);
    var k = t.kwargs && Object.keys(t.kwargs).length ? ' ' + JSON.stringify(t.kwargs) : '';
    var s = a + k;
    return s.length > 120 ? s.slice(0, 119) + '…' : s;
  }

  pages.workers = function () {
    var $ = h.$,
      el = h.el,
      cssEscape = h.cssEscape;
    var tbody = $('#workers tbody');
    function age(ms) {
      if (ms === null) return 'never';
      if (ms < 1500) return 'just now';
      if (ms < 90000) return Math.round(ms / 1000) + ' s ago';
      if (ms < 5400000) return Math.round(ms / 60000) + ' min ago';
      return Math.round(ms / 3600000) + ' h ago';
    }
    function refresh() {
      h.api('GET', 'api/workers').then(function (r) {
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
                el('a', { href: h.base + '/workers/' + encodeURIComponent(w.name) }, el('strong', { text: w.name })),
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
              el('td', null, h.timeEl(w.startedAt)),
              el('td', { dataset: { field: 'heartbeat' }, text: age(w.heartbeatAgeMs) }),
            ),
          );
        });
      });
    }
    h.onEvent(function (e) {
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
    setInterval(refresh, REFRESH_MS);
  };

  pages.worker = function (h) {
    var name = document.body.dataset.worker;
    var path = 'api/workers/' + encodeURIComponent(name);
    var status = h.$('#overview-status');
    var taskLink = function (t) {
      return h.el(
        'td',
        null,
        h.el('a', {
          className: 'mono',
          href: h.base + '/tasks/' + encodeURIComponent(t.id),
          title: t.id,
          text: h.shortId(t.id),
        }),
      );
    };
    // The worker's result store as inspect stats reports it: down, stalled (wedged), or its backlog.
    function storeText(st) {
      var parts = [];
      if (st.postgres && st.postgres.down)
        parts.push(
          'Postgres down since ' +
            st.postgres.since +
            (st.postgres.lastError ? ' (' + st.postgres.lastError + ')' : ''),
        );
      if (st.stalledMs) parts.push('stalled: a write has waited ' + Math.round(st.stalledMs / 1000) + ' s');
      parts.push(st.backlog + ' state(s) not yet written');
      if (st.unstorable) parts.push(st.unstorable + ' not storable as sent');
      return parts.join(' · ');
    }
    function render(o) {
      var stats = o.stats || {};
      var pool = stats.pool || {};
      var own = stats.celeriac || {};
      var facts = [
        [
          'Pool',
          (pool.implementation || '?') +
            ' × ' +
            (pool['max-concurrency'] === undefined ? '?' : pool['max-concurrency']),
        ],
        [
          'Autoscale',
          pool.autoscaler
            ? pool.autoscaler.min + '–' + pool.autoscaler.max + ' (now ' + pool.autoscaler.qty + ')'
            : 'off',
        ],
        ['Max tasks per child', pool['max-tasks-per-child']],
        ['Max memory per child (KiB)', pool['max-memory-per-child']],
        ['Processed', own.processed],
        ['Succeeded / failed / retried', [own.succeeded, own.failed, own.retried].join(' / ')],
        [
          'Holding (prefetched) / prefetch limit',
          own.held + ' / ' + (stats.prefetch_count === undefined ? '?' : stats.prefetch_count),
        ],
        [
          'Processed per task',
          stats.total
            ? Object.keys(stats.total)
                .sort()
                .map(function (k) {
                  return k + ': ' + stats.total[k];
                })
                .join(', ') || 'none yet'
            : undefined,
        ],
        ['Result store', own.store ? storeText(own.store) : undefined],
        ['Uptime', stats.uptime === undefined ? undefined : h.duration(stats.uptime * 1000)],
        ['Max resident memory', stats.rusage ? Math.round(stats.rusage.maxrss / 1024) + ' MiB' : undefined],
        [
          'CPU user / system',
          stats.rusage ? stats.rusage.utime.toFixed(1) + ' s / ' + stats.rusage.stime.toFixed(1) + ' s' : undefined,
        ],
        ['Broker', stats.broker ? stats.broker.transport + ' · ' + stats.broker.hostname : undefined],
        ['pid', stats.pid],
      ];
      var dl = h.$('#w-stats');
      dl.textContent = '';
      facts.forEach(function (f) {
        dl.appendChild(h.el('dt', { text: f[0] }));
        dl.appendChild(h.el('dd', { text: f[1] === undefined || f[1] === null ? '—' : String(f[1]) }));
      });
      var pl = h.$('#worker-pool');
      if (pl && pool.implementation)
        pl.textContent = pool.implementation.replace(/^celeriac:/, '') + ' pool × ' + pool['max-concurrency'];
      var wq = h.$('#worker-queues');
      if (wq) wq.textContent = o.queues.join(', ');
      var ql = h.$('#w-queues');
      ql.textContent = '';
      o.queues.forEach(function (q) {
        ql.appendChild(h.el('li', null, h.el('a', { href: h.base + '/queues', text: q })));
      });
      ['active', 'reserved'].forEach(function (key) {
        h.$('#w-' + key + '-count').textContent = '(' + o[key].length + ')';
        rows(h.$('#w-' + key + ' tbody'), o[key], function (t) {
          return [
            taskLink(t),
            t.name,
            h.el('td', { className: 'mono clip', text: argsText(t) }),
            h.el('td', null, t.time_start ? h.timeEl(new Date(t.time_start * 1000).toISOString()) : '—'),
          ];
        });
      });
      h.$('#w-scheduled-count').textContent = '(' + o.scheduled.length + ')';
      rows(h.$('#w-scheduled tbody'), o.scheduled, function (s) {
        return [
          taskLink(s.request),
          s.request.name,
          h.el('td', { className: 'mono clip', text: argsText(s.request) }),
          h.el('td', null, h.timeEl(s.eta)),
        ];
      });
      h.$('#w-revoked-count').textContent = '(' + o.revoked.length + ')';
      var rl = h.$('#w-revoked');
      rl.textContent = '';
      o.revoked.slice(0, 200).forEach(function (id) {
        rl.appendChild(h.el('li', { text: id }));
      });
      rows(h.$('#w-registered tbody'), o.registered, function (t) {
        var opts = t.options
          ? Object.keys(t.options)
              .map(function (k) {
                return k + '=' + JSON.stringify(t.options[k]);
              })
              .join(', ')
          : 'not declared in this app';
        return [t.name, h.el('td', { className: 'mono small', text: opts || 'defaults' })];
      });
      var conf = o.conf || {};
      rows(h.$('#w-conf tbody'), Object.keys(conf).sort(), function (k) {
        var v = conf[k];
        return [
          h.el('td', { className: 'mono', text: k }),
          h.el('td', { className: 'mono small clip', text: typeof v === 'string' ? v : JSON.stringify(v) }),
        ];
      });
    }
    function refresh() {
      return h.api('GET', path + '/overview').then(function (r) {
        if (!r.ok) {
          status.textContent = r.body.message || 'The worker did not answer.';
          h.$('#worker-status').textContent = 'not answering';
          return;
        }
        status.textContent =
          'Answered at ' + h.localTime(new Date().toISOString()) + '; refreshed every 5 s and on its events.';
        render(r.body);
      });
    }
    h.$all('form.control').forEach(function (form) {
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var command = form.dataset.command;
        var payload = {};
        Array.prototype.forEach.call(form.elements, function (input) {
          if (!input.name) return;
          var v = input.value.trim();
          if (input.type === 'number') {
            if (v !== '') payload[input.name] = Number(v);
            else if (command === 'time-limit') payload[input.name] = null;
          } else if (command === 'rate-limit' && input.name === 'rate') payload.rate = v === '' ? null : v;
          else payload[input.name] = v;
        });
        var out = h.$('#control-answer');
        var what = form.dataset.label + (Object.keys(payload).length ? ' ' + JSON.stringify(payload) : '');
        if (!window.confirm(what + ' on ' + name + '?')) {
          answer(out, false, 'Cancelled: ' + what + '.');
          return;
        }
        var button = form.querySelector('button');
        button.disabled = true;
        h.api('POST', path + '/control/' + command, payload).then(
          function (r) {
            button.disabled = false;
            var d = describe(r);
            answer(out, d.ok, name + ': ' + d.text);
            refresh();
          },
          function () {
            button.disabled = false;
            answer(out, false, 'The server could not be reached.');
          },
        );
      });
    });
    refresh();
    setInterval(refresh, REFRESH_MS);
    h.onEvent(
      h.debounce(function () {
        refresh();
      }, 1000),
    );
  };
})();
