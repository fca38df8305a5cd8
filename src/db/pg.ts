/**
 * The pg driver, loaded without Node's fetch implementation.
 *
 * On load, pg's lib/stream.js asks whether it runs in a Cloudflare Worker: where there is no
 * global `navigator` (Node 20; Node 21+ has one and pg stops there) it builds a
 * `new Response(null, …)`, and the first read of the global Response makes Node load undici, its
 * fetch, which nothing in a worker uses. That costs a built worker's start-up ~45 ms of CPU on the
 * slow bench host: require('pg') took 93 ms of CPU with it and 49 without (medians of 12
 * alternating pairs, bench/ANALYSIS.md, Fifth round, "Start-up"), out of ~270 ms of loading all
 * modules. So Response is hidden for that one synchronous require (nothing else runs meanwhile,
 * and pg's own modules read it nowhere else), and its lazy getter is put back as it was: an app's
 * fetch() loads undici on first use, as it would have.
 */
import type * as Pg from 'pg';

function loadPg(): typeof Pg {
  const response = Object.getOwnPropertyDescriptor(globalThis, 'Response');
  // Already loaded (the getter was replaced by the value), or a Node with `navigator`: nothing to save.
  const lazy = response?.configurable === true && typeof response.get === 'function';
  if (!lazy || (globalThis as { navigator?: unknown }).navigator !== undefined) return require('pg') as typeof Pg;
  Object.defineProperty(globalThis, 'Response', { value: undefined, configurable: true, writable: true });
  try {
    return require('pg') as typeof Pg;
  } finally {
    Object.defineProperty(globalThis, 'Response', response);
  }
}

export const pg = loadPg();
