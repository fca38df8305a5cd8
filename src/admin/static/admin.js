/*
 * Celeriac admin: starts the page. Loads last, after admin-core.js (the shared helpers,
 * window.CeleriacAdmin) and the page scripts that registered into window.CeleriacPages; wires what
 * every page shares (times in the chosen zone, forms, the live event stream), then runs the page's
 * own function with the helpers and announces `celeriac:ready` on the document.
 */
(function () {
  'use strict';
  var h = window.CeleriacAdmin;
  var page = document.body.dataset.page;

  // ---------- every form ----------
  // A field's error goes as soon as it is edited: the message was about the old value.
  function clearFieldError(e) {
    var f = e.target && e.target.closest && e.target.closest('.field.invalid');
    if (!f) return;
    f.classList.remove('invalid');
    h.$all('[data-error-for]', f).forEach(function (slot) {
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
  h.$all('textarea.grow').forEach(grow);
  document.addEventListener('input', function (e) {
    if (e.target && e.target.matches && e.target.matches('textarea.grow')) grow(e.target);
  });

  // ---------- boot ----------
  h.localizeTimes(document);
  h.initZonePick();
  var inits = window.CeleriacPages || {};
  if (inits[page]) inits[page](h);
  // Forms and the periodic pages have nothing to follow live: no event stream, no badge.
  var liveBadge = h.$('#live');
  if (page !== 'new-task' && page !== 'periodic-form' && page !== 'periodic') h.connect();
  else if (liveBadge) liveBadge.hidden = true;
  document.dispatchEvent(new CustomEvent('celeriac:ready'));
})();
