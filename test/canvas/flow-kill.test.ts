import { join } from 'node:path';
import Redis from 'ioredis';
import type { Celeriac } from '../../src';
import { cleanup, eventually, makeApp, REDIS_URL } from '../helpers';
import { fc, propertyOptions } from '../property';
import { exited, ready, spawnWorker } from '../worker/child';
import type { FlowRun } from '../fixtures/flow/tasks';
import { compare, describeFlow, expected, flowArbitrary, labelFlow, toCanvas, type Flow } from './flow-model';
import { drained, finalRowsFor } from './flow-helpers';

/**
 * Generated work-flows under a worker kill: a real worker process runs a flow and is killed with
 * SIGKILL part-way through; another takes over. Every flow still ends with the oracle's result,
 * every step runs (more than once only if its first run was on the killed worker, and always under
 * one task id), every callback and errback is sent exactly once (one task id each), and every
 * chord fires once.
 */
const APP_MODULE = join(__dirname, '../fixtures/flow-app/app.ts');
let app: Celeriac;
let redis: Redis;
let runsKey: string;
const children: ReturnType<typeof spawnWorker>[] = [];

beforeAll(async () => {
  app = await makeApp('flowkill', { apps: [join(__dirname, '../fixtures/flow')] });
  redis = new Redis(REDIS_URL);
  runsKey = `${app.config.keyPrefix}flow-runs`;
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await redis.quit();
  await cleanup(app);
});

function worker(name: string, concurrency: number) {
  const child = spawnWorker(app, ['-c', String(concurrency), '-n', name], { FLOW_RUNS_KEY: runsKey }, APP_MODULE);
  children.push(child);
  return child;
}

async function allRuns(): Promise<FlowRun[]> {
  return (await redis.lrange(runsKey, 0, -1)).map((s) => JSON.parse(s));
}

/** Slow steps, so the kill finds some running and some waiting. */
function slow(f: Flow): Flow {
  if (f.t === 'leaf') f.label += ':slow';
  else if (f.t === 'chain') f.steps.forEach(slow);
  else if (f.t === 'group') f.members.forEach(slow);
  else {
    f.header.forEach(slow);
    slow(f.body);
  }
  return f;
}

test('generated work-flows survive a worker killed mid-flow', async () => {
  let n = 0;
  const sizeable = flowArbitrary(3, 3).filter((f) => expected(labelFlow(structuredClone(f), 0)).steps.size >= 4);
  await fc.assert(
    fc.asyncProperty(sizeable, async (raw) => {
      const flow = slow(labelFlow(structuredClone(raw), n));
      const prefix = `${n++}.`;
      const exp = expected(flow);
      const shape = describeFlow(flow);
      const victim = worker(`victim${n}@test`, 3);
      await ready(victim);
      const handle = await toCanvas(flow).applyAsync();
      // Kill once a step of this flow finished and others are under way (or the flow is done).
      const mine = async () => (await allRuns()).filter((r) => r.label.slice(1).startsWith(prefix));
      await eventually(async () => expect((await mine()).length).toBeGreaterThanOrEqual(2), 30_000, 20);
      victim.kill('SIGKILL');
      await exited(victim);
      const rescuer = worker(`rescuer${n}@test`, 4);
      await ready(rescuer);
      const got = await handle.get({ timeout: 90 }).then(
        (value: unknown) => ({ ok: true, value }),
        (err: Error) => ({ ok: false, value: err.message }),
      );
      expect({ shape, ...got }).toEqual({ shape, ok: exp.ok, value: exp.ok ? exp.value : expect.any(String) });
      await drained(app);
      const runs = await mine();
      if (process.env.FLOW_DEBUG) {
        const onVictim = runs.filter((r) => r.worker.startsWith('victim')).length;
        const repeated = runs.length - new Set(runs.map((r) => r.id)).size;
        process.stderr.write(
          `${shape}\n  runs ${runs.length}, on the killed worker ${onVictim}, run again ${repeated}\n`,
        );
      }
      expect({ shape, problems: compare(exp, runs, prefix) }).toEqual({ shape, problems: [] });
      // A step ran again only where its earlier run was on the killed worker (at-least-once).
      const byLabel = new Map<string, FlowRun[]>();
      for (const r of runs.filter((x) => x.kind === 'step')) byLabel.set(r.label, [...(byLabel.get(r.label) ?? []), r]);
      const reruns = [...byLabel.values()].filter((rs) => rs.slice(0, -1).some((r) => !r.worker.startsWith('victim')));
      expect({ shape, reruns }).toEqual({ shape, reruns: [] });
      const rows = await finalRowsFor(app, exp.allSteps);
      expect({ shape, unfinished: rows.filter((r) => !r.final).map((r) => r.label) }).toEqual({
        shape,
        unfinished: [],
      });
      rescuer.kill('SIGTERM');
      expect({ exit: await exited(rescuer), output: rescuer.output().slice(-2000) }).toMatchObject({
        exit: { code: 0 },
      });
    }),
    propertyOptions(Number(process.env.FLOW_KILL_RUNS ?? 4)),
  );
}, 600_000);
