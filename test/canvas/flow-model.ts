import { chain, chord, group } from '../../src';
import type { Signature } from '../../src';
import { fc } from '../property';
import { mark, step, type FlowRun } from '../fixtures/flow/tasks';

/**
 * Generated work-flows and what they must do, for the canvas property tests. A flow is a tree of
 * steps (flow.step), chains, groups and chords, with errbacks and callbacks (flow.mark) hung on
 * any node. `expect()` evaluates the tree directly, by the rules the README states, with no
 * messages, workers or chords: the oracle the real runs are compared with.
 */
export type Flow =
  | { t: 'leaf'; fail: boolean; eb: boolean; cb: boolean; label?: string; ebLabel?: string; cbLabel?: string }
  | { t: 'chain'; steps: Flow[]; eb: boolean; cb: boolean; ebLabel?: string; cbLabel?: string }
  | { t: 'group'; members: Flow[]; eb: boolean; ebLabel?: string }
  | { t: 'chord'; header: Flow[]; body: Flow; eb: boolean; cb: boolean; ebLabel?: string; cbLabel?: string };

const sometimes = (oneIn: number) => fc.integer({ min: 1, max: oneIn }).map((n) => n === 1);

export function flowArbitrary(maxDepth = 3, width = 3): fc.Arbitrary<Flow> {
  const { node } = fc.letrec<{ node: Flow; leaf: Flow; chain: Flow; group: Flow; chord: Flow }>((tie) => ({
    node: fc.oneof({ maxDepth, depthSize: 'small' }, tie('leaf'), tie('chain'), tie('group'), tie('chord')),
    leaf: fc.record({ t: fc.constant('leaf' as const), fail: sometimes(9), eb: sometimes(4), cb: sometimes(5) }),
    chain: fc.record({
      t: fc.constant('chain' as const),
      steps: fc.array(tie('node'), { minLength: 1, maxLength: width }),
      eb: sometimes(4),
      cb: sometimes(5),
    }),
    group: fc.record({
      t: fc.constant('group' as const),
      members: fc.array(tie('node'), { minLength: 0, maxLength: width }),
      eb: sometimes(4),
    }),
    chord: fc.record({
      t: fc.constant('chord' as const),
      header: fc.array(tie('node'), { minLength: 0, maxLength: width }),
      body: tie('node'),
      eb: sometimes(4),
      cb: sometimes(5),
    }),
  }));
  return node;
}

/** A callback needs a single result: never on a group, nor on what ends in one. */
function canLink(f: Flow): boolean {
  switch (f.t) {
    case 'leaf':
      return true;
    case 'chain':
      return canLink(f.steps[f.steps.length - 1]);
    case 'group':
      return false;
    case 'chord':
      return canLink(f.body);
  }
}

/** Gives every step, errback and callback of flow `n` a unique label (a failing step's starts with 'x'). */
export function labelFlow(f: Flow, n: number, counter = { i: 0 }): Flow {
  const id = () => `${n}.${counter.i++}`;
  switch (f.t) {
    case 'leaf':
      f.label = `${f.fail ? 'x' : 's'}${id()}`;
      break;
    case 'chain':
      f.steps.forEach((s) => labelFlow(s, n, counter));
      break;
    case 'group':
      f.members.forEach((m) => labelFlow(m, n, counter));
      break;
    case 'chord':
      f.header.forEach((m) => labelFlow(m, n, counter));
      labelFlow(f.body, n, counter);
      break;
  }
  if (f.eb) f.ebLabel = `e${id()}`;
  if (f.t !== 'group' && f.cb && canLink(f)) f.cbLabel = `c${id()}`;
  return f;
}

export function toCanvas(f: Flow): any {
  let c: any;
  switch (f.t) {
    case 'leaf':
      c = step.s(f.label!) as Signature;
      break;
    case 'chain':
      c = chain(f.steps.map(toCanvas));
      break;
    case 'group':
      c = group(f.members.map(toCanvas));
      break;
    case 'chord':
      c = chord(f.header.map(toCanvas), toCanvas(f.body));
      break;
  }
  if (f.ebLabel) c = c.linkError(mark.s(f.ebLabel));
  if (f.t !== 'group' && f.cbLabel) c = c.link(mark.s(f.cbLabel));
  return c;
}

export function describeFlow(f: Flow): string {
  const tags = (x: { ebLabel?: string; cbLabel?: string }) =>
    (x.ebLabel ? ` !${x.ebLabel}` : '') + (x.cbLabel ? ` >${x.cbLabel}` : '');
  switch (f.t) {
    case 'leaf':
      return f.label! + tags(f);
    case 'chain':
      return `chain(${f.steps.map(describeFlow).join(', ')})${tags(f)}`;
    case 'group':
      return `group(${f.members.map(describeFlow).join(', ')})${tags(f)}`;
    case 'chord':
      return `chord([${f.header.map(describeFlow).join(', ')}], ${describeFlow(f.body)})${tags(f)}`;
  }
}

// ---- The oracle: the flow in canonical form (callbacks on tasks), then evaluated directly.

type C =
  | { t: 'leaf'; label: string; fail: boolean; eb: string[]; cb: string[] }
  | { t: 'chain'; steps: C[] }
  | { t: 'group'; members: C[] }
  | { t: 'chord'; header: C[]; body: C };

function addEb(c: C, label: string): void {
  if (c.t === 'leaf') c.eb.push(label);
  else if (c.t === 'chain') c.steps.forEach((s) => addEb(s, label));
  else if (c.t === 'group') c.members.forEach((m) => addEb(m, label));
  else addEb(c.body, label);
}

function addCb(c: C, label: string): void {
  if (c.t === 'leaf') c.cb.push(label);
  else if (c.t === 'chain') addCb(c.steps[c.steps.length - 1], label);
  else if (c.t === 'chord') addCb(c.body, label);
  else throw new Error('a group cannot be linked');
}

/**
 * The README's rules: nested chains are spliced in, nested groups unrolled, a group followed by
 * a step in a chain is a chord with that step as body; an errback on a chain reaches each step,
 * on a group each member, on a chord its body; a callback reaches the task giving the result.
 */
function canon(f: Flow): C {
  let c: C;
  switch (f.t) {
    case 'leaf':
      c = { t: 'leaf', label: f.label!, fail: f.fail, eb: [], cb: [] };
      break;
    case 'chain': {
      const flat = f.steps.map(canon).flatMap((s) => (s.t === 'chain' ? s.steps : [s]));
      const steps: C[] = [];
      for (let i = flat.length - 1; i >= 0; i--) {
        if (flat[i].t === 'group' && steps.length > 0) steps[0] = { t: 'chord', header: [flat[i]], body: steps[0] };
        else steps.unshift(flat[i]);
      }
      c = { t: 'chain', steps };
      break;
    }
    case 'group':
      c = { t: 'group', members: unroll(f.members.map(canon)) };
      break;
    case 'chord':
      c = { t: 'chord', header: unroll(f.header.map(canon)), body: canon(f.body) };
      break;
  }
  if (f.ebLabel) addEb(c, f.ebLabel);
  if (f.t !== 'group' && f.cbLabel) addCb(c, f.cbLabel);
  return c;
}

function unroll(members: C[]): C[] {
  return members.flatMap((m) => (m.t === 'group' ? unroll(m.members) : [m]));
}

/** What the first task of a node that cannot run would have fired (a failed chord's body). */
function errbacksOf(c: C): string[] {
  if (c.t === 'leaf') return c.eb;
  if (c.t === 'chain') return errbacksOf(c.steps[0]);
  if (c.t === 'chord') return errbacksOf(c.body);
  return [...new Set(c.members.flatMap(errbacksOf))];
}

function resultCount(c: C): number {
  if (c.t === 'leaf') return 1;
  if (c.t === 'chain') return resultCount(c.steps[c.steps.length - 1]);
  if (c.t === 'chord') return resultCount(c.body);
  return c.members.reduce((n, m) => n + resultCount(m), 0);
}

export interface Expected {
  ok: boolean;
  /** What get() on the flow's handle resolves to, when ok. */
  value: unknown;
  /** Step label → the arguments before its label, for every step that runs. */
  steps: Map<string, unknown[]>;
  /** Every step label of the flow, run or not. */
  allSteps: string[];
  /** Mark label → how many times it fires; callbacks also with what. */
  marks: Map<string, { count: number; values: unknown[] }>;
}

interface Ev {
  ok: boolean;
  value: unknown;
  /** What the node adds to an enclosing group or chord header: a group adds its members. */
  contrib: unknown[];
}

export function expected(f: Flow): Expected {
  const out: Expected = { ok: false, value: null, steps: new Map(), allSteps: [], marks: new Map() };
  const fire = (label: string, value?: unknown) => {
    const m = out.marks.get(label) ?? { count: 0, values: [] };
    m.count++;
    if (value !== undefined) m.values.push(value);
    out.marks.set(label, m);
  };
  const collect = (c: C): void => {
    if (c.t === 'leaf') out.allSteps.push(c.label);
    else if (c.t === 'chain') c.steps.forEach(collect);
    else if (c.t === 'group') c.members.forEach(collect);
    else {
      c.header.forEach(collect);
      collect(c.body);
    }
  };
  const ev = (c: C, inputs: unknown[]): Ev => {
    switch (c.t) {
      case 'leaf': {
        out.steps.set(c.label, inputs);
        if (c.fail) {
          c.eb.forEach((e) => fire(e));
          return { ok: false, value: null, contrib: [] };
        }
        const value = { l: c.label, a: inputs };
        c.cb.forEach((cb) => fire(cb, [value]));
        return { ok: true, value, contrib: [value] };
      }
      case 'chain': {
        let cur = inputs;
        let last: Ev = { ok: true, value: null, contrib: [] };
        for (const s of c.steps) {
          last = ev(s, cur);
          if (!last.ok) return last;
          cur = [last.value];
        }
        return last;
      }
      case 'group': {
        const rs = c.members.map((m) => ev(m, inputs));
        const contrib = rs.flatMap((r) => r.contrib);
        return { ok: rs.every((r) => r.ok), value: contrib, contrib };
      }
      case 'chord': {
        const header = ev({ t: 'group', members: c.header }, inputs);
        if (!header.ok) {
          errbacksOf(c.body).forEach((e) => fire(e));
          return { ok: false, value: null, contrib: [] };
        }
        return ev(c.body, [header.contrib]);
      }
    }
  };
  const root = canon(f);
  collect(root);
  const r = ev(root, []);
  // A handle on no tasks at all (an empty group) has nothing that could fail: it is [] at once.
  out.ok = r.ok || resultCount(root) === 0;
  out.value = r.ok ? r.value : [];
  return out;
}

/** JSON with sorted keys: results read back from jsonb come with their keys reordered. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x,
  );
}

/** Compares what ran with what the oracle expects; returns the differences (empty when equal). */
export function compare(exp: Expected, got: FlowRun[], prefix: string): string[] {
  const problems: string[] = [];
  const mine = got.filter((r) => r.label.slice(1).startsWith(prefix));
  const stepRuns = new Map<string, FlowRun[]>();
  const markRuns = new Map<string, FlowRun[]>();
  for (const r of mine) {
    const map = r.kind === 'step' ? stepRuns : markRuns;
    map.set(r.label, [...(map.get(r.label) ?? []), r]);
  }
  for (const label of exp.allSteps) {
    const ran = stepRuns.get(label) ?? [];
    const want = exp.steps.get(label);
    if (!want && ran.length) problems.push(`${label} ran but should not have`);
    if (want && ran.length === 0) problems.push(`${label} did not run`);
    if (want && new Set(ran.map((r) => r.id)).size > 1) problems.push(`${label} ran under ${ran.length} task ids`);
    if (want && ran.length && canonical(ran[0].args) !== canonical(want))
      problems.push(`${label} got ${JSON.stringify(ran[0].args)}, expected ${JSON.stringify(want)}`);
  }
  for (const [label, runs] of stepRuns)
    if (!exp.allSteps.includes(label)) problems.push(`${label} ran ${runs.length}× but is not in the flow`);
  const labels = new Set([...exp.marks.keys(), ...markRuns.keys()]);
  for (const label of labels) {
    const want = exp.marks.get(label) ?? { count: 0, values: [] };
    // One entry per task id: a mark re-run after a worker kill is the same firing, not another.
    const fired = [...new Map((markRuns.get(label) ?? []).map((r) => [r.id, r])).values()];
    const ids = new Set(fired.map((r) => r.id));
    if (ids.size !== want.count) problems.push(`${label} fired ${ids.size}× (task ids), expected ${want.count}×`);
    if (want.values.length && canonical(fired.map((r) => r.args)) !== canonical(want.values.slice(0, fired.length)))
      problems.push(
        `${label} called back with ${JSON.stringify(fired.map((r) => r.args))}, expected ${JSON.stringify(want.values)}`,
      );
  }
  return problems;
}
