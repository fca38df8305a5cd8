/*
 * Celeriac admin: a small SVG chart, no library, for the dashboard (throughput, per-task counts and
 * runtimes) and the queues page (length over time). Published as window.CeleriacCharts.drawSeries;
 * it takes the admin's helpers (admin-core.js) for times in the page's zone.
 */
(function () {
  'use strict';
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

  window.CeleriacCharts = { drawSeries: drawSeries };
})();
