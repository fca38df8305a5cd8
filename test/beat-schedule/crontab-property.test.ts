/**
 * nextRunAfter against a brute-force reference that walks real time minute by minute.
 *
 * The reference applies the DST rule from the clock's point of view, with no slot-to-instant
 * mapping at all: it keeps the highest wall time the clock has shown; at each UTC minute the
 * clock shows a wall time, and if that is higher than anything shown before, every wall slot
 * passed over since (one in normal time, a whole gap after spring forward) has now been
 * reached, so the job runs at this instant if any of them matches. In the second pass of a
 * repeated hour the wall time is not new, so nothing runs. Offsets come from luxon's DateTime,
 * sampled hourly and refined to the minute, and fields from plainly generated sets, so neither
 * shares code with src/beat/schedule.
 */
import { DateTime } from 'luxon';
import { nextRunAfter, type ScheduleSpec } from '../../src/beat/schedule';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const START = Date.UTC(2025, 11, 31); // a day before the year under test, so the first runs are in range
const END = Date.UTC(2027, 2, 1);
const RUNS_PER_WINDOW = 2000;
/**
 * Math.floor read once: jest runs a test file in a vm context, where every read of a global such
 * as `Math` goes through the context's interceptor and is not optimised. matches() below runs
 * ~18 million times in this file; reading Math there made the file take 35 s (minutes on a busy
 * machine), 25 times what the same loop costs outside jest.
 */
const floor = Math.floor;

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface GeneratedField {
  text: string;
  values: Set<number>;
}

/** `*` forms cover min..max; ranges and lists pick values in min..pickMax. */
function genField(rand: () => number, min: number, max: number, restrict: number, pickMax = max): GeneratedField {
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const all = (step: number, lo = min, hi = max) => {
    const s = new Set<number>();
    for (let v = lo; v <= hi; v += step) s.add(v);
    return s;
  };
  if (rand() > restrict) return { text: '*', values: all(1) };
  switch (int(0, 3)) {
    case 0: {
      const step = int(2, Math.max(2, Math.floor((max - min) / 3)));
      return { text: `*/${step}`, values: all(step) };
    }
    case 1: {
      const a = int(min, pickMax);
      const b = int(a, pickMax);
      return { text: `${a}-${b}`, values: all(1, a, b) };
    }
    case 2: {
      const a = int(min, pickMax);
      const b = int(a, pickMax);
      const step = int(1, 4);
      return { text: `${a}-${b}/${step}`, values: all(step, a, b) };
    }
    default: {
      const picks = new Set(Array.from({ length: int(1, 4) }, () => int(min, pickMax)));
      return { text: [...picks].join(','), values: picks };
    }
  }
}

interface Case {
  spec: Extract<ScheduleSpec, { kind: 'crontab' }>;
  matches(wall: number): boolean;
}

function genCase(rand: () => number, timezone: string, dense: boolean): Case {
  // Hours cluster around the DST-affected night hours so transitions are exercised.
  const minute = genField(rand, 0, 59, 0.9);
  const hour = dense ? genField(rand, 0, 23, 0.5) : genField(rand, 0, 23, 1, 4);
  const dom = genField(rand, 1, 31, 0.2);
  const month = genField(rand, 1, 12, 0.1);
  const dow = genField(rand, 0, 6, 0.3);
  let cachedDay = NaN;
  let dayMatches = false;
  return {
    spec: {
      kind: 'crontab',
      minute: minute.text,
      hour: hour.text,
      dayOfMonth: dom.text,
      monthOfYear: month.text,
      dayOfWeek: dow.text,
      timezone,
    },
    matches(wall) {
      // Calendar fields are the same all day: look them up once per day (this runs ~600k times).
      const dayIndex = floor(wall / 86_400_000);
      if (dayIndex !== cachedDay) {
        const d = new Date(dayIndex * 86_400_000);
        cachedDay = dayIndex;
        dayMatches =
          dom.values.has(d.getUTCDate()) && month.values.has(d.getUTCMonth() + 1) && dow.values.has(d.getUTCDay());
      }
      return (
        dayMatches && minute.values.has(floor(wall / 60_000) % 60) && hour.values.has(floor(wall / 3_600_000) % 24)
      );
    },
  };
}

/** Offset (ms) at every UTC minute in [START, END] from luxon, asked per minute only in hours where it changes. */
function minuteOffsets(zone: string): { at(instant: number): number; perMinute: Int32Array; transitions: number[] } {
  const offsets = new Int32Array((END - START) / MINUTE + 1);
  const transitions: number[] = [];
  const luxonOffset = (t: number) => DateTime.fromMillis(t, { zone }).offset * MINUTE;
  for (let h = START; h < END; h += HOUR) {
    const atHour = luxonOffset(h);
    const constant = atHour === luxonOffset(h + HOUR);
    for (let m = h; m < h + HOUR; m += MINUTE) {
      const i = (m - START) / MINUTE;
      offsets[i] = constant ? atHour : luxonOffset(m);
      if (i > 0 && offsets[i] !== offsets[i - 1]) transitions.push(m);
    }
  }
  offsets[offsets.length - 1] = luxonOffset(END);
  return { at: (t) => offsets[(t - START) / MINUTE], perMinute: offsets, transitions };
}

function bruteForceRuns(c: Case, offsetPerMinute: Int32Array): number[] {
  const runs: number[] = [];
  let highest = START + offsetPerMinute[0];
  for (let i = 1; i < offsetPerMinute.length; i++) {
    const t = START + i * MINUTE;
    const wall = t + offsetPerMinute[i];
    if (wall <= highest) continue; // second pass of a repeated hour: nothing new on the clock
    for (let s = highest + MINUTE; s <= wall; s += MINUTE) {
      if (c.matches(s)) {
        runs.push(t);
        break;
      }
    }
    highest = wall;
  }
  return runs;
}

const ZONES = [
  'Europe/Berlin',
  'America/New_York',
  'Australia/Lord_Howe',
  'America/Santiago',
  'Pacific/Chatham',
  'Asia/Kolkata',
];

describe.each(ZONES)('nextRunAfter agrees with the minute-by-minute reference in %s', (zone) => {
  const offsets = minuteOffsets(zone);
  const rand = rng([...zone].reduce((h, ch) => Math.imul(h, 31) + ch.charCodeAt(0), 7));
  const cases = [
    ...Array.from({ length: 3 }, () => genCase(rand, zone, false)),
    ...Array.from({ length: 2 }, () => genCase(rand, zone, true)),
  ];

  test.each(cases.map((c) => [Object.values(c.spec).slice(1, 6).join(' '), c] as const))('%s', (_name, c) => {
    const expected = bruteForceRuns(c, offsets.perMinute);
    // Windows start on New Year and a few hours before each transition, so every window of
    // 2,000 consecutive runs begins where DST matters, whatever the density of the crontab.
    const windowStarts = [Date.UTC(2026, 0, 1), ...offsets.transitions.map((t) => t - 3 * HOUR)];
    for (const windowStart of windowStarts) {
      const got: number[] = [];
      let cursor = windowStart;
      while (got.length < RUNS_PER_WINDOW) {
        const next = nextRunAfter(c.spec, new Date(cursor))?.getTime();
        if (next === undefined || next > END) break;
        got.push(next);
        cursor = next;
      }
      const want = expected.filter((t) => t > windowStart).slice(0, got.length);
      expect(got.map(iso)).toEqual(want.map(iso));
      if (got.length < RUNS_PER_WINDOW) expect(expected.filter((t) => t > windowStart).length).toBe(got.length);

      expect(got.every((t, i) => i === 0 || t > got[i - 1])).toBe(true);
      // The same wall-clock reading twice would be a repeated-hour slot run in both passes.
      const walls = got.map((t) => t + offsets.at(t));
      expect(new Set(walls).size).toBe(walls.length);
    }

    // And from arbitrary instants: random ones, and ones inside each gap's aftermath and
    // each repeated hour's second pass, down to the millisecond.
    const afters = Array.from({ length: 200 }, () => START + Math.floor(rand() * (END - START - 40 * 86_400_000)));
    for (const t of offsets.transitions) for (const d of [-1, 0, 1, 599_999, 1_800_000, 3_599_999]) afters.push(t + d);
    for (const after of afters) {
      const want = expected.find((t) => t > after);
      if (want === undefined) {
        const got = nextRunAfter(c.spec, new Date(after));
        expect(got === null || got.getTime() > END).toBe(true);
        continue;
      }
      expect([iso(after), iso(nextRunAfter(c.spec, new Date(after))?.getTime())]).toEqual([iso(after), iso(want)]);
    }
  });
});

function iso(t: number | undefined): string {
  return t === undefined ? 'none' : new Date(t).toISOString();
}
