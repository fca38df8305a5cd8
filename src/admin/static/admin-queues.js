/*
 * Celeriac admin: the queues page — counts per queue, purge, the next messages of a queue, dead
 * letters (re-queue, delete) and queue length over time. Registers into window.CeleriacPages;
 * admin.js starts the page. Same rule as admin-core.js: data reaches the DOM through textContent
 * and attributes only.
 */
(function () {
  'use strict';
  var pages = (window.CeleriacPages = window.CeleriacPages || {});
  var REFRESH_MS = 5000;
  var drawSeries = window.CeleriacCharts.drawSeries;

  pages.queues = function (h) {
    var readOnly = document.body.dataset.readOnly === '1';
    var out = h.$('#queue-answer');
    var history = []; // [{at, lengths: {queue: ready}}]
    var shown = null; // the queue whose messages are open
    function num(v) {
      return v === null || v === undefined ? '—' : String(v);
    }
    function act(method, apiPath, confirmText, done) {
      if (!window.confirm(confirmText)) return h.answer(out, false, 'Cancelled.');
      h.api(method, apiPath, {}).then(function (r) {
        var d = h.describe(r);
        h.answer(out, d.ok, d.ok ? done(r.body) : d.text);
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
        if (!r.ok) return h.answer(out, false, h.describe(r).text);
        h.$('#queue-messages').hidden = false;
        h.$('#messages-queue').textContent = queue;
        var tbody = h.$('#messages-table tbody');
        h.rows(tbody, r.body.messages, function (m) {
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
