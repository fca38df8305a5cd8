/*
 * Celeriac admin: the dashboard — counts by state, throughput per minute, queue lengths, and the
 * per-task charts (counts and runtime percentiles). Registers into window.CeleriacPages; admin.js
 * starts it. Same rule as admin-core.js: data reaches the DOM through textContent and attributes only.
 */
(function () {
  'use strict';
  var pages = (window.CeleriacPages = window.CeleriacPages || {});
  var h = window.CeleriacAdmin;
  var $ = h.$,
    $all = h.$all,
    el = h.el,
    api = h.api;
  var drawSeries = window.CeleriacCharts.drawSeries;

  /** Succeeded and failed per minute, stacked, with the chart helper the per-task charts use. */
  function drawChart(container, buckets) {
    drawSeries(
      h,
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
    h.onEvent(h.debounce(refresh, 1500));
    document.addEventListener('celeriac:zone', refresh);
  }

  function initTaskCharts() {
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

  pages.dashboard = function () {
    initDashboard();
    initTaskCharts();
  };
})();
