'use strict';
const { sleep } = require('../lib/proc');

/**
 * Waits until `total` results are visible in the system's store and returns the instant (ms since
 * epoch) it saw the last one. Polls every 100 ms while far from done and every 5 ms near the end,
 * so the probe costs the machine little but the end is seen within a few ms.
 */
async function waitAllVisible(sys, env, total, deadlineMs, isAlive = () => true) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const done = await sys.doneCount(env, total);
    if (done >= total) return { at: Date.now(), done };
    if (Date.now() > deadline)
      throw new Error(`${sys.name}: only ${done} of ${total} results visible after ${deadlineMs} ms`);
    if (!isAlive()) throw new Error(`${sys.name}: worker exited with ${done} of ${total} results visible`);
    await sleep(done >= total * 0.9 ? 5 : 100);
  }
}

const tagFor = (sys, workload, run) => `${sys.name}-${workload}-run${run}`;

module.exports = { waitAllVisible, tagFor };
