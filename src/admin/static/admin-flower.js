/*
 * Celeriac admin: Flower's pages — a worker's page with its controls, and the queues page (counts,
 * purge, next messages, dead letters, queue length over time). Loaded before admin.js, which calls
 * the page's function with its helpers. Same rule as admin.js: data reaches the DOM through
 * textContent and attributes only, never innerHTML.
 */
(function () {
  'use strict';
  var pages = (window.CeleriacPages = window.CeleriacPages || {});
  var REFRESH_MS = 5000;

  /** Show an answer in a status line: ok (green) or bad (red). */
  function answer(node, ok, text) {
    node.className = 'message ' + (ok ? 'ok' : 'bad');
    node.textContent = text;
  }

  /** Celery's reply {ok: …} / {error: …}, or the API's error body, as one sentence. */
  function describe(r) {
    if (!r.ok) {
      var fields = r.body.errors
        ? Object.keys(r.body.errors)
            .map(function (k) {
              return k + ': ' + r.body.errors[k];
            })
            .join('; ')
        : '';
      return { ok: false, text: fields || r.body.message || 'Failed (HTTP ' + r.status + ').' };
    }
    var reply = r.body.reply;
    if (reply && typeof reply === 'object' && 'error' in reply) return { ok: false, text: String(reply.error) };
    if (reply && typeof reply === 'object' && 'ok' in reply) return { ok: true, text: String(reply.ok) };
    return { ok: true, text: 'Done.' };
  }

  function rows(h, tbody, items, cells) {
    tbody.textContent = '';
    items.forEach(function (item) {
      var tr = h.el('tr');
      cells(item).forEach(function (c) {
        tr.appendChild(c && c.nodeType ? c : h.el('td', { text: c === undefined || c === null ? '—' : String(c) }));
      });
      tbody.appendChild(tr);
    });
  }

  function argsText(t) {
    var a = JSON.stringify(t.args || []);
    var k = t.kwargs && Object.keys(t.kwargs).length ? ' ' + JSON.stringify(t.kwargs) : '';
    var s = a + k;
    return s.length > 120 ? s.slice(0, 119) + '…' : s;
  }

  /**
   * A small SVG chart, no library: bars (stacked) or lines over time. Axis ticks at whole steps
   * (1, 2, 5 × 10^n), times in the page's zone with the zone named. `series`: [{values, cls}];
   * `times`: ms since the epoch, one per value.
   */
  function drawSeries(h, box, times, series, opts) {
    if (!box) return;
    var W = Math.max(320, box.clientWidth || 800),
      H = 180,
      left = 46,
      bottom = 22,
      top = 18;
    var max = 1;
    times.forEach(function (_, i) {
      var stack = 0;
      series.forEach(function (sr) {
        var v = sr.values[i] || 0;
        if (opts.bars) stack += v;
        else max = Math.max(max, v);
      });
      max = Math.max(max, stack);
    });
    var step = 1;
    while (max / step > 4) step = String(step).charAt(0) === '2' ? step * 2.5 : step * 2;
    var niceMax = Math.max(step, Math.ceil(max / step) * step);
    var ns = 'http://www.w3.org/2000/svg';
    function s(tag, attrs, text) {
      var n = document.createElementNS(ns, tag);
      Object.keys(attrs).forEach(function (k) {
        n.setAttribute(k, attrs[k]);
      });
      if (text !== undefined) n.textContent = text;
      return n;
    }
    var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none' });
    var plotH = H - bottom - top,
      plotW = W - left - 8;
    for (var tick = 0; tick <= niceMax; tick += step) {
      var y = top + plotH * (1 - tick / niceMax);
      svg.appendChild(s('line', { x1: left, x2: W, y1: y, y2: y, class: 'axis' }));
      svg.appendChild(s('text', { x: left - 6, y: y + 4, 'text-anchor': 'end' }, String(tick) + (opts.unit || '')));
    }
    var n = Math.max(1, times.length);
    var t0 = times[0],
      t1 = times.length > 1 ? times[times.length - 1] : t0 + 1;
    var xAt = function (i) {
      return opts.bars ? left + (i + 0.5) * (plotW / n) : left + ((times[i] - t0) / (t1 - t0 || 1)) * plotW;
    };
    if (opts.bars) {
      var bw = plotW / n;
      times.forEach(function (t, i) {
        var base = 0;
        var tip = [];
        series.forEach(function (sr) {
          var v = sr.values[i] || 0;
          tip.push(v + ' ' + sr.label);
          if (v <= 0) return;
          var hgt = (v / niceMax) * plotH;
          svg.appendChild(
            s('rect', {
              x: left + i * bw + bw * 0.12,
              y: top + plotH - base - hgt,
              width: Math.max(1, bw * 0.76),
              height: hgt,
              class: sr.cls,
            }),
          );
          base += hgt;
        });
        var hit = s('rect', { x: left + i * bw, y: top, width: bw, height: plotH, fill: 'transparent' });
        hit.appendChild(s('title', {}, h.localTime(new Date(t).toISOString()) + ': ' + tip.join(', ')));
        svg.appendChild(hit);
      });
    } else {
      series.forEach(function (sr) {
        var pts = [];
        times.forEach(function (t, i) {
          var v = sr.values[i];
          if (v === null || v === undefined) return;
          pts.push(xAt(i).toFixed(1) + ',' + (top + plotH * (1 - v / niceMax)).toFixed(1));
        });
        if (pts.length)
          svg.appendChild(s('polyline', { points: pts.join(' '), class: 'series ' + sr.cls, fill: 'none' }));
        // A dot per value, so a lone minute shows, each with its value on hover.
        times.forEach(function (t, i) {
          var v = sr.values[i];
          if (v === null || v === undefined) return;
          var dot = s('circle', { cx: xAt(i), cy: top + plotH * (1 - v / niceMax), r: 1.5, class: 'dot ' + sr.cls });
          dot.appendChild(
            s('title', {}, h.localTime(new Date(t).toISOString()) + ': ' + sr.label + ' ' + v + (opts.unit || '')),
          );
          svg.appendChild(dot);
        });
      });
    }
    var labels = Math.min(6, times.length);
    for (var k = 0; k < labels; k++) {
      var idx = Math.round((k * (times.length - 1)) / Math.max(1, labels - 1));
      var label = h.localTime(new Date(times[idx]).toISOString()).slice(11, 16);
      svg.appendChild(
        s(
          'text',
          { x: xAt(idx), y: H - 6, 'text-anchor': k === 0 ? 'start' : k === labels - 1 ? 'end' : 'middle' },
          label,
        ),
      );
    }
    svg.appendChild(s('text', { x: W - 4, y: 11, 'text-anchor': 'end' }, 'time: ' + h.zoneName()));
    box.textContent = '';
    box.appendChild(svg);
  }

  // ---------- dashboard: per-task charts ----------
  function initTaskCharts(h) {
    var select = h.$('#chart-task');
    if (!select) return;
    var last = null;
    function draw() {
      if (!last) return;
      var t =
        last.tasks.filter(function (x) {
          return x.name === select.value;
        })[0] || last.tasks[0];
      var times = last.minutes.map(function (m) {
        return Date.parse(m);
      });
      var empty = { succeeded: [], failed: [], p50: [], p95: [], p99: [] };
      t = t || empty;
      drawSeries(
        h,
        h.$('#task-chart-counts'),
        times,
        [
          { values: t.succeeded, cls: 'ok', label: 'succeeded' },
          { values: t.failed, cls: 'bad', label: 'failed' },
        ],
        { bars: true },
      );
      drawSeries(
        h,
        h.$('#task-chart-runtime'),
        times,
        [
          { values: t.p50, cls: 'series-2', label: 'p50' },
          { values: t.p95, cls: 'series-1', label: 'p95' },
          { values: t.p99, cls: 'series-3', label: 'p99' },
        ],
        { unit: '' },
      );
    }
    function refresh() {
      h.api('GET', 'api/stats/tasks?minutes=60').then(function (r) {
        if (!r.ok) return;
        last = r.body;
        var chosen = select.value;
        var names = last.tasks.map(function (x) {
          return x.name;
        });
        if (chosen && names.indexOf(chosen) < 0) names.push(chosen);
        select.textContent = '';
        select.appendChild(h.el('option', { value: '', text: '(busiest)' }));
        names.forEach(function (n) {
          select.appendChild(h.el('option', { value: n, text: n, selected: n === chosen }));
        });
        draw();
      });
    }
    select.addEventListener('change', draw);
    document.addEventListener('celeriac:zone', draw);
    refresh();
    setInterval(refresh, 10000);
    h.onEvent(h.debounce(refresh, 2000));
  }
  // admin.js draws the dashboard's own chart with it.
  window.CeleriacCharts = { drawSeries: drawSeries };

  document.addEventListener('celeriac:ready', function () {
    if (document.body.dataset.page === 'dashboard' && window.CeleriacAdmin) initTaskCharts(window.CeleriacAdmin);
  });

  // ---------- a worker's page ----------
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
        rows(h, h.$('#w-' + key + ' tbody'), o[key], function (t) {
          return [
            taskLink(t),
            t.name,
            h.el('td', { className: 'mono clip', text: argsText(t) }),
            h.el('td', null, t.time_start ? h.timeEl(new Date(t.time_start * 1000).toISOString()) : '—'),
          ];
        });
      });
      h.$('#w-scheduled-count').textContent = '(' + o.scheduled.length + ')';
      rows(h, h.$('#w-scheduled tbody'), o.scheduled, function (s) {
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
      rows(h, h.$('#w-registered tbody'), o.registered, function (t) {
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
      rows(h, h.$('#w-conf tbody'), Object.keys(conf).sort(), function (k) {
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

  // ---------- queues ----------
  pages.queues = function (h) {
    var readOnly = document.body.dataset.readOnly === '1';
    var out = h.$('#queue-answer');
    var history = []; // [{at, lengths: {queue: ready}}]
    var shown = null; // the queue whose messages are open
    function num(v) {
      return v === null || v === undefined ? '—' : String(v);
    }
    function act(method, apiPath, confirmText, done) {
      if (!window.confirm(confirmText)) return answer(out, false, 'Cancelled.');
      h.api(method, apiPath, {}).then(function (r) {
        var d = describe(r);
        answer(out, d.ok, d.ok ? done(r.body) : d.text);
        refresh();
      });
    }
    function renderQueues(body) {
      var tbody = h.$('#queue-table tbody');
      tbody.textContent = '';
      body.queues.forEach(function (q) {
        var actions = h.el(
          'td',
          { className: 'actions-col' },
          h.el('button', {
            type: 'button',
            className: 'small-button',
            dataset: { queueAction: 'messages', queue: q.name },
            text: 'Messages',
          }),
        );
        if (!readOnly)
          h.append(actions, [
            ' ',
            h.el('button', {
              type: 'button',
              className: 'small-button danger',
              dataset: { queueAction: 'purge', queue: q.name },
              text: 'Purge',
            }),
          ]);
        tbody.appendChild(
          h.el(
            'tr',
            { dataset: { queue: q.name } },
            h.el('th', { scope: 'row', text: q.name }),
            h.el('td', { className: 'num', dataset: { field: 'ready' }, text: q.ready }),
            h.el('td', { className: 'num', dataset: { field: 'unacked' }, text: num(q.unacked) }),
            h.el('td', { className: 'num', dataset: { field: 'delayed' }, text: num(q.delayed) }),
            h.el('td', { className: 'num', dataset: { field: 'deadLettered' }, text: q.deadLettered }),
            h.el('td', { className: 'num', dataset: { field: 'consumers' }, text: num(q.consumers) }),
            actions,
          ),
        );
      });
      h.$('#total-delayed').textContent = num(body.delayed);
      h.$('#total-dead').textContent = num(body.deadLettered);
    }
    function renderDead(list) {
      var tbody = h.$('#dead-table tbody');
      tbody.textContent = '';
      list.forEach(function (d) {
        var actions = h.el('td', { className: 'actions-col' });
        if (!readOnly && d.id)
          h.append(actions, [
            h.el('button', {
              type: 'button',
              className: 'small-button',
              dataset: { deadAction: 'requeue', id: d.id },
              text: 'Re-queue',
            }),
            ' ',
            h.el('button', {
              type: 'button',
              className: 'small-button danger',
              dataset: { deadAction: 'delete', id: d.id },
              text: 'Delete',
            }),
          ]);
        tbody.appendChild(
          h.el(
            'tr',
            { dataset: { id: d.id } },
            h.el('td', null, h.timeEl(d.at)),
            h.el('td', { className: 'mono', title: d.id, text: d.id ? h.shortId(d.id) : '—' }),
            h.el('td', { text: d.task }),
            h.el('td', { text: d.queue }),
            h.el('td', { className: 'clip', title: d.reason, text: d.reason }),
            actions,
          ),
        );
      });
      h.$('#dead-empty').hidden = list.length > 0;
    }
    function showMessages(queue) {
      shown = queue;
      h.api('GET', 'api/queues/' + encodeURIComponent(queue) + '/messages?limit=50').then(function (r) {
        if (!r.ok) return answer(out, false, describe(r).text);
        h.$('#queue-messages').hidden = false;
        h.$('#messages-queue').textContent = queue;
        var tbody = h.$('#messages-table tbody');
        rows(h, tbody, r.body.messages, function (m) {
          var actions = h.el('td', { className: 'actions-col' });
          if (!readOnly && m.id)
            actions.appendChild(
              h.el('button', {
                type: 'button',
                className: 'small-button danger',
                dataset: { messageAction: 'delete', id: m.id, queue: queue },
                text: 'Delete',
              }),
            );
          return [
            m.state,
            h.el(
              'td',
              null,
              m.id
                ? h.el('a', {
                    className: 'mono',
                    href: h.base + '/tasks/' + encodeURIComponent(m.id),
                    title: m.id,
                    text: h.shortId(m.id),
                  })
                : '—',
            ),
            m.task,
            h.el('td', { className: 'num', text: m.priority }),
            h.el('td', null, h.timeEl(m.dueAt)),
            actions,
          ];
        });
        h.$('#messages-empty').hidden = r.body.messages.length > 0;
      });
    }
    function drawHistory() {
      if (history.length === 0) return;
      var names = Object.keys(history[history.length - 1].lengths);
      var legend = h.$('#queue-legend');
      legend.textContent = '';
      names.forEach(function (n, i) {
        h.append(legend, [h.el('span', { className: 'key series-' + (i % 6) }), ' ' + n + ' ']);
      });
      drawSeries(
        h,
        h.$('#queue-chart'),
        history.map(function (smp) {
          return smp.at;
        }),
        names.map(function (n, i) {
          return {
            label: n,
            cls: 'series-' + (i % 6),
            values: history.map(function (smp) {
              return smp.lengths[n] || 0;
            }),
          };
        }),
        {},
      );
    }
    function refresh() {
      h.api('GET', 'api/queues' + window.location.search).then(function (r) {
        if (!r.ok) return;
        renderQueues(r.body);
        var lengths = {};
        r.body.queues.forEach(function (q) {
          lengths[q.name] = q.ready;
        });
        history.push({ at: Date.now(), lengths: lengths });
        if (history.length > 360) history.shift();
        drawHistory();
      });
      h.api('GET', 'api/dead-letters?limit=100').then(function (r) {
        if (r.ok) renderDead(r.body.deadLetters);
      });
      if (shown) showMessages(shown);
    }
    document.addEventListener('click', function (e) {
      var b = e.target.closest && e.target.closest('button');
      if (!b) return;
      var d = b.dataset;
      if (d.queueAction === 'messages') showMessages(d.queue);
      else if (d.queueAction === 'purge')
        act(
          'POST',
          'api/queues/' + encodeURIComponent(d.queue) + '/purge',
          'Purge every ready message of ' + d.queue + '? They are deleted, not run.',
          function (body) {
            return 'Purged ' + body.purged + ' message(s) from ' + body.queue + '.';
          },
        );
      else if (d.messageAction === 'delete')
        act(
          'DELETE',
          'api/queues/' + encodeURIComponent(d.queue) + '/messages/' + encodeURIComponent(d.id),
          'Delete task ' + d.id + ' from ' + d.queue + '? It is revoked.',
          function () {
            return 'Deleted ' + d.id + ' and revoked it.';
          },
        );
      else if (d.deadAction === 'requeue')
        act(
          'POST',
          'api/dead-letters/' + encodeURIComponent(d.id) + '/requeue',
          'Send ' + d.id + ' back to its queue?',
          function () {
            return 'Re-queued ' + d.id + '.';
          },
        );
      else if (d.deadAction === 'delete')
        act(
          'DELETE',
          'api/dead-letters/' + encodeURIComponent(d.id),
          'Delete the dead letter ' + d.id + '?',
          function () {
            return 'Deleted the dead letter ' + d.id + '.';
          },
        );
    });
    refresh();
    setInterval(refresh, REFRESH_MS);
    h.onEvent(h.debounce(refresh, 1500));
    document.addEventListener('celeriac:zone', drawHistory);
  };
})();
