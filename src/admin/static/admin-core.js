/*
 * Celeriac admin: the helpers every page script shares (DOM building, the JSON API with its CSRF
 * token, times in the chosen zone, forms' error slots, the live event stream), published as
 * window.CeleriacAdmin. Loads first; the page scripts (admin-dashboard.js, admin-tasks.js,
 * admin-workers.js, admin-queues.js, admin-periodic.js) register into window.CeleriacPages and
 * admin.js, last, starts the page. Plain browser JavaScript, no build step.
 * Rule: data from the server reaches the DOM through textContent / attributes only, never
 * innerHTML, so task arguments, results and names are always shown as text.
 */
(function () {
  'use strict';
  var base = document.body.dataset.base || '';
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
  function isLive() {
    return live;
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

  // ---------- Flower's pages: answers and tables ----------
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

  /** Fills a table body: a row per item, a cell per value (a node as it is, anything else as text). */
  function rows(tbody, items, cells) {
    tbody.textContent = '';
    items.forEach(function (item) {
      var tr = el('tr');
      cells(item).forEach(function (c) {
        tr.appendChild(c && c.nodeType ? c : el('td', { text: c === undefined || c === null ? '—' : String(c) }));
      });
      tbody.appendChild(tr);
    });
  }

  window.CeleriacAdmin = {
    $: $,
    $all: $all,
    el: el,
    append: append,
    api: api,
    base: base,
    pad: pad,
    shortId: shortId,
    debounce: debounce,
    duration: duration,
    badge: badge,
    taskHref: taskHref,
    showErrors: showErrors,
    clearErrors: clearErrors,
    cssEscape: cssEscape,
    onEvent: onEvent,
    connect: connect,
    isLive: isLive,
    /** 'local' or 'utc': the zone the visitor chose for times (the header's picker). */
    zone: function () {
      return zone;
    },
    zoneName: zoneName,
    localTime: localTime,
    timeEl: timeEl,
    localizeTimes: localizeTimes,
    initZonePick: initZonePick,
    answer: answer,
    describe: describe,
    rows: rows,
  };
})();
