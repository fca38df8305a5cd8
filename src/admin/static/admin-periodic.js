/*
 * Celeriac admin: the periodic-task pages (list with bulk actions, the change form with its live
 * schedule preview). Loaded before admin.js, which calls the page's function with its helpers.
 * Same rule as admin.js: data reaches the DOM through textContent and attributes only.
 */
(function () {
  'use strict';
  var pages = (window.CeleriacPages = window.CeleriacPages || {});
  var h, $, $all, el, api, base, pad, shortId, debounce, showErrors, clearErrors, cssEscape;
  function use(helpers) {
    h = helpers;
    $ = h.$;
    $all = h.$all;
    el = h.el;
    api = h.api;
    base = h.base;
    pad = h.pad;
    shortId = h.shortId;
    debounce = h.debounce;
    showErrors = h.showErrors;
    clearErrors = h.clearErrors;
    cssEscape = h.cssEscape;
  }
  // ---------- periodic tasks: list ----------
  function initPeriodic() {
    var table = $('#periodic');
    var boxes = function () {
      return $all('input[name="ids"]', table);
    };
    var msg = $('#bulk-message');
    function selectedIds() {
      return boxes()
        .filter(function (b) {
          return b.checked;
        })
        .map(function (b) {
          return Number(b.value);
        });
    }
    function sync() {
      var n = selectedIds().length;
      var count = $('#selected-count');
      if (count) count.textContent = n + ' selected';
      $all('[data-bulk]').forEach(function (b) {
        b.disabled = n === 0;
      });
    }
    var all = $('#select-all');
    if (all)
      all.addEventListener('change', function () {
        boxes().forEach(function (b) {
          b.checked = all.checked;
        });
        sync();
      });
    boxes().forEach(function (b) {
      b.addEventListener('change', sync);
    });
    $all('[data-bulk]').forEach(function (button) {
      button.addEventListener('click', function () {
        var action = button.dataset.bulk,
          ids = selectedIds();
        if (action === 'delete' && !window.confirm('Delete ' + ids.length + ' periodic task(s)? Their results stay.'))
          return;
        api('POST', 'api/periodic-tasks/bulk', { action: action, ids: ids }).then(function (r) {
          if (!r.ok) {
            msg.className = 'message bad';
            msg.textContent = r.body.message || 'Failed.';
            return;
          }
          if (action === 'run') {
            msg.className = 'message ok';
            msg.textContent = 'Sent ' + r.body.count + ' task(s).';
            return;
          }
          window.location.reload();
        });
      });
    });
    $all('[data-run]').forEach(function (button) {
      button.addEventListener('click', function () {
        button.disabled = true;
        api('POST', 'api/periodic-tasks/' + button.dataset.run + '/run', {}).then(function (r) {
          button.disabled = false;
          if (!r.ok) {
            msg.className = 'message bad';
            msg.textContent = r.body.message || 'Failed.';
            return;
          }
          msg.className = 'message ok';
          msg.textContent = 'Sent ' + r.body.task + ' as ';
          msg.appendChild(el('a', { href: r.body.pageUrl, className: 'mono', text: shortId(r.body.id) }));
        });
      });
    });
  }

  // ---------- periodic tasks: form ----------
  function toLocalInput(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    return (
      d.getFullYear() +
      '-' +
      pad(d.getMonth() + 1) +
      '-' +
      pad(d.getDate()) +
      'T' +
      pad(d.getHours()) +
      ':' +
      pad(d.getMinutes()) +
      ':' +
      pad(d.getSeconds())
    );
  }
  function fromLocalInput(value) {
    return value ? new Date(value).toISOString() : null;
  }

  function initPeriodicForm() {
    var form = $('#periodic-form');
    var id = form.dataset.id;
    var msg = $('#action-message');
    $all('input[type="datetime-local"][data-iso]', form).forEach(function (i) {
      i.value = toLocalInput(i.dataset.iso);
    });
    function kind() {
      var r = form.querySelector('input[name="kind"]:checked');
      return r ? r.value : 'crontab';
    }
    function val(name) {
      var f = form.elements[name];
      return f ? f.value.trim() : '';
    }
    function num(name) {
      var v = val(name);
      return v === '' ? null : Number(v);
    }
    function schedule() {
      switch (kind()) {
        case 'interval':
          return { kind: 'interval', every: num('schedule.every'), period: val('schedule.period') };
        case 'solar':
          return {
            kind: 'solar',
            event: val('schedule.event'),
            latitude: num('schedule.latitude'),
            longitude: num('schedule.longitude'),
          };
        case 'clocked':
          return { kind: 'clocked', clockedTime: fromLocalInput(val('schedule.clockedTime')) };
        default:
          return {
            kind: 'crontab',
            minute: val('schedule.minute'),
            hour: val('schedule.hour'),
            dayOfMonth: val('schedule.dayOfMonth'),
            monthOfYear: val('schedule.monthOfYear'),
            dayOfWeek: val('schedule.dayOfWeek'),
            timezone: val('schedule.timezone'),
          };
      }
    }
    function showKind() {
      var k = kind();
      $all('.kind-fields', form).forEach(function (f) {
        f.hidden = f.dataset.kind !== k;
      });
      if (k === 'clocked') form.elements.oneOff.checked = true;
    }
    function scheduleErrors(errors) {
      $all('[data-error-for^="schedule"]', form).forEach(function (s) {
        s.textContent = '';
        var w = s.closest('.field');
        if (w) w.classList.remove('invalid');
      });
      Object.keys(errors || {}).forEach(function (f) {
        if (f.indexOf('schedule') !== 0 && f !== 'startTime') return;
        var slot = form.querySelector('[data-error-for="' + cssEscape(f) + '"]');
        if (!slot) return;
        slot.textContent = errors[f];
        var w = slot.closest('.field');
        if (w) w.classList.add('invalid');
      });
    }
    var previewSeq = 0;
    function preview() {
      var seq = ++previewSeq;
      var startTime = fromLocalInput(val('startTime'));
      // With the id, the server starts the preview where the saved row will (its planned run, or
      // one counted from its last run), so the preview and the list's next run agree.
      var body = { schedule: schedule(), startTime: startTime, n: 5 };
      if (id) body.id = Number(id);
      api('POST', 'api/schedules/preview', body).then(function (r) {
        if (seq !== previewSeq) return;
        var text = $('#preview-text'),
          list = $('#preview-runs');
        list.textContent = '';
        if (!r.ok) {
          text.textContent = 'No preview: fix the schedule fields marked below.';
          scheduleErrors(r.body.errors);
          return;
        }
        scheduleErrors({});
        text.textContent = r.body.text;
        var zone = r.body.schedule.kind === 'crontab' ? r.body.schedule.timezone : undefined;
        var fmt;
        try {
          fmt = new Intl.DateTimeFormat('en-GB', {
            timeZone: zone,
            weekday: 'short',
            year: 'numeric',
            month: 'short',
            day: 'numeric',
            hour: '2-digit',
            minute: '2-digit',
            second: '2-digit',
            timeZoneName: 'short',
          });
        } catch (e) {
          fmt = null;
        }
        if (r.body.runs.length === 0) list.appendChild(el('li', { className: 'muted', text: 'No future runs.' }));
        r.body.runs.forEach(function (iso) {
          list.appendChild(
            el('li', null, el('time', { datetime: iso, title: iso, text: fmt ? fmt.format(new Date(iso)) : iso })),
          );
        });
      });
    }
    var previewSoon = debounce(preview, 250);
    $all('input[name="kind"]', form).forEach(function (r) {
      r.addEventListener('change', function () {
        showKind();
        preview();
      });
    });
    $all('.kind-fields input, .kind-fields select, #f-startTime', form).forEach(function (i) {
      i.addEventListener('input', previewSoon);
      i.addEventListener('change', previewSoon);
    });
    preview();

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      clearErrors(form);
      var errors = {};
      function json(name, expect) {
        var text = val(name);
        if (text === '') return expect === 'array' ? [] : {};
        try {
          return JSON.parse(text);
        } catch (err) {
          errors[name] = 'not valid JSON: ' + err.message;
        }
      }
      var payload = {
        name: val('name'),
        task: val('task'),
        enabled: form.elements.enabled.checked,
        oneOff: form.elements.oneOff.checked,
        description: form.elements.description.value,
        schedule: schedule(),
        args: json('args', 'array'),
        kwargs: json('kwargs', 'object'),
        headers: json('headers', 'object'),
        queue: val('queue') || null,
        exchange: val('exchange') || null,
        routingKey: val('routingKey') || null,
        priority: num('priority'),
        catchUp: val('catchUp'),
        startTime: fromLocalInput(val('startTime')),
        expires: fromLocalInput(val('expires')),
        expireSeconds: num('expireSeconds'),
      };
      if (Object.keys(errors).length) return showErrors(form, errors);
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      api(id ? 'PUT' : 'POST', 'api/periodic-tasks' + (id ? '/' + id : ''), payload).then(
        function (r) {
          button.disabled = false;
          if (r.ok) {
            window.location.href = base + '/periodic-tasks?saved=' + r.body.id;
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

    $all('[data-action="run-periodic"]').forEach(function (b) {
      b.addEventListener('click', function () {
        api('POST', 'api/periodic-tasks/' + id + '/run', {}).then(function (r) {
          if (!r.ok) {
            msg.className = 'message bad';
            msg.textContent = r.body.message || 'Failed.';
            return;
          }
          msg.className = 'message ok';
          msg.textContent = 'Sent as ';
          msg.appendChild(el('a', { href: r.body.pageUrl, className: 'mono', text: r.body.id }));
        });
      });
    });
    $all('[data-action="delete-periodic"]').forEach(function (b) {
      b.addEventListener('click', function () {
        if (!window.confirm('Delete this periodic task? Results of its past runs stay.')) return;
        api('DELETE', 'api/periodic-tasks/' + id, {}).then(function (r) {
          if (r.ok) {
            window.location.href = base + '/periodic-tasks';
            return;
          }
          msg.className = 'message bad';
          msg.textContent = r.body.message || 'Failed.';
        });
      });
    });
  }

  pages.periodic = function (helpers) {
    use(helpers);
    initPeriodic();
  };
  pages['periodic-form'] = function (helpers) {
    use(helpers);
    initPeriodicForm();
  };
})();
