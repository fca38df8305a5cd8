/**
 * UTC offsets of one IANA zone, with the zone's transitions found once and cached.
 *
 * Why not ask luxon every time: `IANAZone.offset()` formats a date through Intl on each call,
 * about 10 µs. A next-run computation needs four or five offsets and beat computes one per
 * schedule, 10,000 in the same minute, so the cache is what keeps a call in the low microseconds.
 *
 * How: the offset at every UTC midnight is asked once; when two consecutive midnights differ,
 * the transition between them is found by bisection to the second (tzdata transitions fall
 * on whole seconds, and luxon's answer is per second). This assumes a zone changes offset at
 * most once per UTC day, which every tzdata zone does in the years a scheduler sees.
 *
 * Times here are plain numbers: instants are epoch ms; a "wall" time is the local date-time
 * written as if it were UTC (Date.UTC of the local fields), so wall = instant + offset.
 */
import { IANAZone } from 'luxon';

const DAY_MS = 86_400_000;
/**
 * How far around a wall time its instants, and any earlier showing of it, can lie. Offsets
 * stay within ±15 h and local time never jumps back by a day and a half (the largest
 * backward jump in tzdata is Alaska's 1867 change of date, about one day), so two days is ample.
 */
const WINDOW_MS = 2 * DAY_MS;
/** A zone touched for many distinct days (say a preview centuries ahead) starts its cache over. */
const MAX_CACHED_DAYS = 50_000;

export class ZoneOffsets {
  private readonly zone: IANAZone;
  /** Day index (epoch ms / DAY_MS) → offset in ms at that day's 00:00:00Z. */
  private readonly midnightOffsets = new Map<number, number>();
  /** Day index → instant of the offset change during that day, or NaN when there is none. */
  private readonly transitions = new Map<number, number>();

  constructor(readonly name: string) {
    this.zone = IANAZone.create(name);
  }

  /** Offset in ms at an instant (wall = instant + offset). */
  offsetAt(instant: number): number {
    const day = Math.floor(instant / DAY_MS);
    const change = this.transitionDuring(day);
    return change === change && instant >= change ? this.midnightOffset(day + 1) : this.midnightOffset(day);
  }

  wallAt(instant: number): number {
    return instant + this.offsetAt(instant);
  }

  /**
   * The latest wall time the zone has shown at or before `instant`. It equals wallAt(instant)
   * except during the second pass of a repeated hour, where it is the wall time just before
   * the clocks went back (e.g. 02:59:59.999 CEST while the clock shows 02:10 CET).
   */
  highestWallUpTo(instant: number): number {
    let highest = this.wallAt(instant);
    const lastDay = Math.floor(instant / DAY_MS);
    for (let day = Math.floor((instant - WINDOW_MS) / DAY_MS); day <= lastDay; day++) {
      const change = this.transitionDuring(day);
      if (change === change && change <= instant) {
        highest = Math.max(highest, change - 1 + this.midnightOffset(day));
      }
    }
    return highest;
  }

  /**
   * The first instant at which the zone's clock shows `wall` or later: the instant of `wall`
   * when it exists once, its earlier instant when it exists twice, and the end of the gap
   * (the transition instant) when the clocks jump over it.
   */
  firstInstantAtOrAfterWall(wall: number): number {
    // Walk the constant-offset pieces of the timeline from a point whose wall time is surely
    // below `wall`. In a piece [start, end) with offset o the clock runs from start+o to end+o.
    let start = wall - WINDOW_MS;
    for (;;) {
      const offset = this.offsetAt(start);
      if (wall <= start + offset) return start; // the clock jumped over `wall` at `start`
      const end = this.nextTransitionAfter(start, wall + WINDOW_MS);
      if (wall - offset < end) return wall - offset;
      start = end;
    }
  }

  private nextTransitionAfter(instant: number, limit: number): number {
    const lastDay = Math.floor(limit / DAY_MS);
    for (let day = Math.floor(instant / DAY_MS); day <= lastDay; day++) {
      const change = this.transitionDuring(day);
      if (change === change && change > instant) return change;
    }
    return Infinity;
  }

  private midnightOffset(day: number): number {
    let offset = this.midnightOffsets.get(day);
    if (offset === undefined) {
      if (this.midnightOffsets.size >= MAX_CACHED_DAYS) {
        this.midnightOffsets.clear();
        this.transitions.clear();
      }
      offset = this.rawOffset(day * DAY_MS);
      this.midnightOffsets.set(day, offset);
    }
    return offset;
  }

  /** NaN when the offset is the same all day (NaN !== NaN is how callers test for it). */
  private transitionDuring(day: number): number {
    let change = this.transitions.get(day);
    if (change === undefined) {
      const before = this.midnightOffset(day);
      change = before === this.midnightOffset(day + 1) ? NaN : this.bisectTransition(day * DAY_MS, before);
      this.transitions.set(day, change);
    }
    return change;
  }

  private bisectTransition(dayStart: number, offsetBefore: number): number {
    let lo = dayStart; // offset is offsetBefore here
    let hi = dayStart + DAY_MS; // offset differs here
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (this.rawOffset(mid) === offsetBefore) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  private rawOffset(instant: number): number {
    // luxon answers in minutes, fractional for the odd local-mean-time offsets of old dates.
    return Math.round(this.zone.offset(instant) * 60_000);
  }
}

const zones = new Map<string, ZoneOffsets>();

/** The shared cache for a zone name; the caller has validated the name with IANAZone.isValidZone. */
export function zoneOffsets(name: string): ZoneOffsets {
  let zone = zones.get(name);
  if (!zone) {
    zone = new ZoneOffsets(name);
    zones.set(name, zone);
  }
  return zone;
}
