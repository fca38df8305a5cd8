'use strict';
/**
 * The frame of every process the harness starts to send or probe (systems/<system>/sender.js,
 * chord.js, flow.js, results-probe.js): run `main`, print what it returns as the one
 * `BENCH_RESULT {json}` line the harness reads (bench/lib/proc.js), and exit 0; on an error,
 * print it and exit 1, so the harness reports the child's own words.
 */
function runChild(main) {
  main().then(
    (result) => {
      process.stdout.write(`BENCH_RESULT ${JSON.stringify(result ?? {})}\n`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/** `node sender.js <mode> <n> [warmups]`, as every system's sender takes it. */
function senderArgs(argv = process.argv) {
  const [mode, nArg, warmArg] = argv.slice(2);
  return { mode, n: Number(nArg), warmups: Number(warmArg ?? 20) };
}

module.exports = { runChild, senderArgs };
