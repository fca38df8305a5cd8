/*
 * celeriac-status.js: poll a Celeriac task until it is done, for an app's own pages.
 *
 *   <script src="/admin/celeriac/static/celeriac-status.js"></script>
 *   CeleriacStatus.poll(taskId, {
 *     url: '/tasks/{id}',               // your status route (answers in the admin's task-status JSON),
 *                                       // default: the admin's own api/tasks/{id} next to this script
 *     intervalMs: 1000,                 // between polls; slows down (up to 10 s) while requests fail
 *     onProgress(status) {},            // every change: status.state, status.progress.percent, …
 *                                       // (100 on SUCCESS; the last seen on FAILURE/REVOKED)
 *     onDone(status) {},                // once: SUCCESS, FAILURE, REVOKED or REJECTED
 *     onError(error) {},                // a failed request (polling goes on)
 *   });                                 // → { stop(), done: Promise<status> }
 *
 * The status JSON is { id, state, ready, result, error: {type, message}, progress: {done, total,
 * percent}, … } (README § Polling a task from your own pages). Polls send If-None-Match, so an unchanged task costs a 304, and
 * pause while the tab is hidden, so a forgotten tab costs nothing.
 */
(function (global) {
  'use strict';
  var here = global.document && global.document.currentScript ? global.document.currentScript.src : '';
  var defaultUrl = here ? here.replace(/\/static\/celeriac-status\.js(\?.*)?$/, '/api/tasks/{id}') : '';

  function statusUrl(template, id) {
    if (typeof template === 'function') return template(id);
    var t = template || defaultUrl;
    if (!t) throw new Error('CeleriacStatus.poll: pass options.url, e.g. "/tasks/{id}"');
    return t.indexOf('{id}') >= 0
      ? t.replace('{id}', encodeURIComponent(id))
      : t.replace(/\/?$/, '/') + encodeURIComponent(id);
  }

  function whenVisible() {
    var doc = global.document;
    if (!doc || !doc.hidden) return Promise.resolve();
    return new Promise(function (resolve) {
      doc.addEventListener('visibilitychange', function onChange() {
        if (doc.hidden) return;
        doc.removeEventListener('visibilitychange', onChange);
        resolve();
      });
    });
  }

  // Only a running task reports progress, so a finished task's status has none: without this a bar
  // at 80 % would drop to 0 % on SUCCESS. SUCCESS says 100 %; FAILURE and REVOKED keep the last
  // progress seen, so the bar shows how far the task got.
  function finalProgress(status, previous) {
    if (!status || !status.ready || status.progress) return status;
    var before = previous && previous.progress;
    var copy = {};
    for (var key in status) copy[key] = status[key];
    if (status.state === 'SUCCESS') {
      var total = before && before.total != null ? before.total : null;
      copy.progress = { done: total, total: total, percent: 100 };
    } else copy.progress = before || null;
    return copy;
  }

  function poll(taskId, options) {
    options = options || {};
    var url = statusUrl(options.url, taskId);
    var interval = Math.max(200, options.intervalMs || 1000);
    var stopped = false;
    var timer = null;
    var etag = null;
    var last = null;
    var failures = 0;
    var resolveDone, rejectDone;
    var done = new Promise(function (resolve, reject) {
      resolveDone = resolve;
      rejectDone = reject;
    });
    done.catch(function () {});

    function schedule(ms) {
      if (!stopped) timer = setTimeout(tick, ms);
    }

    function tick() {
      whenVisible().then(function () {
        if (stopped) return;
        var headers = { Accept: 'application/json' };
        if (etag) headers['If-None-Match'] = etag;
        return fetch(url, { headers: headers, credentials: 'same-origin', cache: 'no-store' })
          .then(function (res) {
            if (res.status === 304) return last;
            if (res.status === 404)
              return res
                .json()
                .catch(function () {
                  return {};
                })
                .then(function (body) {
                  return {
                    id: taskId,
                    state: 'UNKNOWN',
                    ready: false,
                    result: null,
                    error: null,
                    progress: null,
                    message: body.message,
                  };
                });
            if (!res.ok) throw new Error('status ' + res.status + ' from ' + url);
            etag = res.headers.get('ETag');
            return res.json();
          })
          .then(function (status) {
            if (stopped) return;
            failures = 0;
            if (status !== last) {
              status = finalProgress(status, last);
              last = status;
              if (options.onProgress) options.onProgress(status);
            }
            if (status && status.ready) {
              stopped = true;
              if (options.onDone) options.onDone(status);
              resolveDone(status);
              return;
            }
            schedule(interval);
          })
          .catch(function (err) {
            if (stopped) return;
            failures += 1;
            if (options.onError) options.onError(err);
            schedule(Math.min(10000, interval * Math.pow(2, failures)));
          });
      });
    }

    tick();
    return {
      stop: function () {
        stopped = true;
        clearTimeout(timer);
        rejectDone(new Error('stopped'));
      },
      done: done,
    };
  }

  global.CeleriacStatus = { poll: poll, version: 1 };
})(typeof window !== 'undefined' ? window : this);
