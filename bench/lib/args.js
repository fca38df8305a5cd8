'use strict';
/**
 * Command-line flags of `npm run bench -- …`. Sizes default to issue 8's workloads; --quick
 * shrinks every one of them so CI can run the whole matrix in well under two minutes.
 */

const SYSTEMS = [
  'celeriac',
  'celeriac-ignore-result',
  'celeriac-dist',
  'bullmq',
  'graphile',
  'graphile-batched',
  'celery-prefork',
  'celery-threads',
];
/**
 * The RabbitMQ rows (issues 18 and 21): W1, W2 and W4 on the shared RabbitMQ, in their own section
 * of the report. Part of the full run; in --quick (CI has no RabbitMQ) only when named with --only.
 */
const AMQP_SYSTEMS = ['celeriac-amqp', 'celery-prefork-amqp'];
/** W1's second size (`w1l`, issue 21: "for 10,000 and 100,000 tasks") runs for these only. */
const W1_LARGE_SYSTEMS = ['celeriac', 'celeriac-dist', 'bullmq'];
/** Variants for a diagnosis, run only when named (bench/systems/index.js). */
const VARIANT_SYSTEMS = ['celeriac-batches2'];
/** `w1l` is W1 again at --w1-large tasks (its own table); dropped when --w1-large is 0. */
const WORKLOADS = ['w1', 'w1l', 'w2', 'w3', 'w4', 'w5', 'w6'];

const usage = `Usage: npm run bench -- [options]

  --quick                 tiny sizes for CI (writes bench/results/quick.md, not BENCHMARKS.md)
  --only a,b              systems: ${SYSTEMS.join(', ')}; on RabbitMQ (W1, W2, W4; in the full run by default,
                          in --quick only when named): ${AMQP_SYSTEMS.join(', ')}; variants, only when named: ${VARIANT_SYSTEMS.join(', ')}
  --workloads w1,w2,w4    workloads: ${WORKLOADS.join(', ')}
  --runs N                runs per figure; the table shows the median, min and max (default 3, quick 1)
  --w4-runs N             runs of the crash workload (default: --runs)
  --w1-tasks N            W1 size (default 10000; quick 200)
  --w1-celery-tasks N     W1 size for Celery, whose drain is ~50x slower (default 2000; quick 100)
  --w1-large N            W1's second size, workload w1l, for ${W1_LARGE_SYSTEMS.join(', ')} (default 100000; quick 0 = not run)
  --w1-large-runs N       runs of w1l (default: --runs)
  --w2-samples N          W2 round trips (default 500; quick 50)
  --w4-tasks N            W4 size (default 1000; quick 100)
  --w3-shapes a,b         W3 shapes: burst-<n>, spread-<n> (default burst-1k,burst-10k,spread-100k; quick spread-50)
  --w3-minutes N          W3 spread: minutes watched after the idle minute (default 3)
  --w5-members N          W5 chord size (default 10000; quick 200)
  --w6-rows N             W6 result-table size (default 10000000; quick 20000); W6 runs once whatever --runs says
  --skip w:s,…            pairs not to run, e.g. w5:celery-threads (shown as skipped, with the reason)
  --profile               run Celeriac's W1 and W5 workers under --cpu-prof; summarise their hottest functions (drain; start → callback)
  --out FILE              where the markdown goes (default BENCHMARKS.md; quick: bench/results/quick.md)
  --no-write              print the table only
  --from FILE.json        no runs: re-render the tables and markdown from a saved bench/results/*.json
                          (e.g. after editing bench/ANALYSIS.md)
  -h, --help`;

function parse(argv) {
  const flags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') flags.set('help', true);
    else if (a.startsWith('--')) {
      const [k, inline] = a.slice(2).split('=', 2);
      if (inline !== undefined) flags.set(k, inline);
      else if (['quick', 'profile', 'no-write', 'help'].includes(k)) flags.set(k, true);
      else if (i + 1 < argv.length) flags.set(k, argv[++i]);
      else throw new Error(`--${k} needs a value`);
    } else throw new Error(`unexpected argument '${a}'\n${usage}`);
  }
  const known = new Set([
    'quick',
    'only',
    'workloads',
    'runs',
    'w4-runs',
    'w1-tasks',
    'w1-celery-tasks',
    'w1-large',
    'w1-large-runs',
    'w2-samples',
    'w4-tasks',
    'w3-shapes',
    'w3-minutes',
    'w5-members',
    'w6-rows',
    'skip',
    'profile',
    'out',
    'no-write',
    'help',
    'from',
  ]);
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`unknown flag --${k}\n${usage}`);

  const quick = flags.has('quick');
  const int = (k, dflt, min = 1) => {
    if (!flags.has(k)) return dflt;
    const v = Number(flags.get(k));
    if (!Number.isInteger(v) || v < min)
      throw new Error(`--${k}: expected ${min ? 'a positive' : 'a non-negative'} integer, got ${flags.get(k)}`);
    return v;
  };
  const list = (k, all, more = []) => {
    if (!flags.has(k)) return all;
    all = [...new Set([...all, ...more])];
    const items = String(flags.get(k))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const it of items)
      if (!all.includes(it)) throw new Error(`--${k}: unknown '${it}' (choose from ${all.join(', ')})`);
    return all.filter((x) => items.includes(x));
  };
  const runs = int('runs', quick ? 1 : 3);
  const w1Large = int('w1-large', quick ? 0 : 100_000, 0);
  let workloads = list('workloads', WORKLOADS);
  if (!w1Large) {
    if (flags.has('workloads') && workloads.includes('w1l'))
      throw new Error('--workloads w1l: give its size with --w1-large N (0 in --quick)');
    workloads = workloads.filter((w) => w !== 'w1l');
  }
  // A pair known to outlast the child deadline on a slow host (Celery threads' chord did, session
  // 4) costs ten minutes a run for no figure; skipping it says so in the tables instead.
  const skip = flags.has('skip')
    ? String(flags.get('skip'))
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : [];
  for (const pair of skip) {
    const [w, s] = pair.split(':');
    if (!WORKLOADS.includes(w) || ![...SYSTEMS, ...AMQP_SYSTEMS, ...VARIANT_SYSTEMS].includes(s))
      throw new Error(`--skip: '${pair}' is not workload:system (e.g. w5:celery-threads)`);
  }
  return {
    help: flags.has('help'),
    usage,
    quick,
    systems: list('only', quick ? SYSTEMS : [...SYSTEMS, ...AMQP_SYSTEMS], [...AMQP_SYSTEMS, ...VARIANT_SYSTEMS]),
    workloads,
    runs,
    w4Runs: int('w4-runs', runs),
    w1Tasks: int('w1-tasks', quick ? 200 : 10_000),
    w1CeleryTasks: int('w1-celery-tasks', quick ? 100 : 2_000),
    w1Large,
    w1LargeRuns: int('w1-large-runs', runs),
    w1LargeSystems: W1_LARGE_SYSTEMS,
    w2Samples: int('w2-samples', quick ? 50 : 500),
    w4Tasks: int('w4-tasks', quick ? 100 : 1_000),
    w3Shapes: flags.has('w3-shapes')
      ? String(flags.get('w3-shapes'))
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : quick
        ? ['spread-50']
        : ['burst-1k', 'burst-10k', 'spread-100k'],
    w3Minutes: int('w3-minutes', 3),
    w5Members: int('w5-members', quick ? 200 : 10_000),
    w6Rows: int('w6-rows', quick ? 20_000 : 10_000_000),
    skip,
    profile: flags.has('profile'),
    out: flags.has('out') ? String(flags.get('out')) : null,
    write: !flags.has('no-write'),
    from: flags.has('from') ? String(flags.get('from')) : null,
  };
}

module.exports = { parse, SYSTEMS, AMQP_SYSTEMS, W1_LARGE_SYSTEMS, WORKLOADS };
