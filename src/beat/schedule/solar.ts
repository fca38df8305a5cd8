/**
 * Solar schedules: the UTC instant of sunrise, sunset, dawn, dusk or solar noon at a place.
 *
 * The formulas are NOAA's Solar Calculator (the "General Solar Position Calculations" notes
 * and the NOAA_Solar_Calculations_day spreadsheet, after Meeus, "Astronomical Algorithms"):
 * sun position from the Julian century, equation of time, declination, then the hour angle
 * at which the sun's centre reaches a given altitude. Each event is re-evaluated at its own
 * time three times so declination and equation of time belong to the event, not to noon.
 * NOAA quotes about a minute of accuracy within ±72° latitude, which is what a scheduler needs;
 * beyond that, and near the days when the sun stops setting, minutes of error are normal
 * because the sun crosses the horizon at a grazing angle.
 *
 * Altitudes of the sun's centre, as django-celery-beat (via Celery and PyEphem) intends:
 * sunrise/sunset -0.833° (Celery: horizon -0:34 on the upper limb, i.e. 34' refraction plus
 * 16' semi-diameter), civil -6°, nautical -12°, astronomical -18°. Celery's table has
 * `'dusk_astronomical': '18'` (positive, a typo upstream); we use -18° as its name says.
 */
import type { SolarEvent } from './types';

const DAY_MS = 86_400_000;
const RAD = Math.PI / 180;
/** How many solar days ahead to look for an event before calling it never (polar day or night). */
export const SOLAR_SEARCH_DAYS = 366;

interface EventRule {
  /** Altitude of the sun's centre in degrees; null for the transit (solar noon). */
  altitude: number | null;
  rising: boolean;
}

const EVENT_RULES: Readonly<Record<SolarEvent, EventRule>> = {
  dawn_astronomical: { altitude: -18, rising: true },
  dawn_nautical: { altitude: -12, rising: true },
  dawn_civil: { altitude: -6, rising: true },
  sunrise: { altitude: -0.833, rising: true },
  solar_noon: { altitude: null, rising: true },
  sunset: { altitude: -0.833, rising: false },
  dusk_civil: { altitude: -6, rising: false },
  dusk_nautical: { altitude: -12, rising: false },
  dusk_astronomical: { altitude: -18, rising: false },
};

interface SunPosition {
  /** Declination in radians. */
  declination: number;
  /** Equation of time in minutes (apparent minus mean solar time). */
  equationOfTime: number;
}

/** NOAA's sun position at an instant (epoch ms). */
export function sunPosition(instant: number): SunPosition {
  const julianDay = instant / DAY_MS + 2440587.5;
  const t = (julianDay - 2451545) / 36525; // Julian centuries since J2000.0
  const meanLongitude = mod360(280.46646 + t * (36000.76983 + t * 0.0003032));
  const meanAnomaly = 357.52911 + t * (35999.05029 - 0.0001537 * t);
  const eccentricity = 0.016708634 - t * (0.000042037 + 0.0000001267 * t);
  const m = meanAnomaly * RAD;
  const center =
    Math.sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t)) +
    Math.sin(2 * m) * (0.019993 - 0.000101 * t) +
    Math.sin(3 * m) * 0.000289;
  const omega = (125.04 - 1934.136 * t) * RAD;
  const apparentLongitude = (meanLongitude + center - 0.00569 - 0.00478 * Math.sin(omega)) * RAD;
  const meanObliquity = 23 + (26 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60) / 60;
  const obliquity = (meanObliquity + 0.00256 * Math.cos(omega)) * RAD;
  const declination = Math.asin(Math.sin(obliquity) * Math.sin(apparentLongitude));

  const y = Math.tan(obliquity / 2) ** 2;
  const l0 = meanLongitude * RAD;
  const equationOfTime =
    (4 / RAD) *
    (y * Math.sin(2 * l0) -
      2 * eccentricity * Math.sin(m) +
      4 * eccentricity * y * Math.sin(m) * Math.cos(2 * l0) -
      0.5 * y * y * Math.sin(4 * l0) -
      1.25 * eccentricity * eccentricity * Math.sin(2 * m));
  return { declination, equationOfTime };
}

/**
 * The event during solar day `day` (days since 1970-01-01 UTC, counted at the place's mean
 * solar time, so the day's transit is near day·24h + 12h − longitude/15 h), or null when the
 * sun does not reach the event's altitude that day.
 */
export function solarEventOnDay(event: SolarEvent, latitude: number, longitude: number, day: number): number | null {
  const outcome = dayOutcome(EVENT_RULES[event], latitude, longitude, day);
  return typeof outcome === 'number' ? outcome : null;
}

/**
 * The first occurrence of the event strictly after `after`, looking up to SOLAR_SEARCH_DAYS
 * solar days ahead (the sun may not set for weeks above the Arctic circle), or null if none.
 */
export function nextSolarEvent(event: SolarEvent, latitude: number, longitude: number, after: number): number | null {
  const rule = EVENT_RULES[event];
  // Start a day early: the event of the solar day before may still lie after `after`
  // (sunset west of Greenwich falls on the next UTC date).
  const firstDay = Math.floor((after + longitude * 240_000) / DAY_MS) - 1;
  let previous = dayOutcome(rule, latitude, longitude, firstDay - 1);
  for (let day = firstDay; day <= firstDay + SOLAR_SEARCH_DAYS + 2; day++) {
    const outcome = dayOutcome(rule, latitude, longitude, day);
    if (typeof outcome === 'number') {
      if (outcome > after) return outcome;
    } else if (typeof previous === 'string' && previous !== outcome && (outcome === 'below') === !rule.rising) {
      // The sun went from never below the altitude to never above it (or back) without a
      // day on which it crossed twice. Near a pole that is how the year's one sunset looks:
      // the daily hour-angle method has no answer, so find the crossing on the altitude curve.
      const crossing = findCrossing(
        rule,
        latitude,
        longitude,
        transitOnDay(longitude, day - 1),
        transitOnDay(longitude, day),
      );
      if (crossing !== null && crossing > after) return crossing;
    }
    previous = outcome;
  }
  return null;
}

/** The event's instant that day, or which side of the event's altitude the sun stays on all day. */
function dayOutcome(rule: EventRule, latitude: number, longitude: number, day: number): number | 'above' | 'below' {
  const midnight = day * DAY_MS;
  let instant = transitOnDay(longitude, day);
  if (rule.altitude === null) return instant;

  const lat = latitude * RAD;
  const sinAltitude = Math.sin(rule.altitude * RAD);
  for (let i = 0; i < 3; i++) {
    const { declination, equationOfTime } = sunPosition(instant);
    const cosHourAngle =
      (sinAltitude - Math.sin(lat) * Math.sin(declination)) / (Math.cos(lat) * Math.cos(declination));
    // Above 1: the sun stays below the altitude all day; below -1: it stays above.
    if (cosHourAngle > 1) return 'below';
    if (cosHourAngle < -1) return 'above';
    const hourAngleMinutes = (4 * Math.acos(cosHourAngle)) / RAD;
    const noonMinutes = 720 - 4 * longitude - equationOfTime;
    instant = midnight + (noonMinutes + (rule.rising ? -hourAngleMinutes : hourAngleMinutes)) * 60_000;
  }
  return Math.round(instant);
}

/** Solar noon (the transit) of solar day `day`, in epoch ms. */
function transitOnDay(longitude: number, day: number): number {
  const midnight = day * DAY_MS;
  let instant = midnight + (720 - 4 * longitude) * 60_000;
  for (let i = 0; i < 3; i++) {
    const { equationOfTime } = sunPosition(instant);
    instant = midnight + (720 - 4 * longitude - equationOfTime) * 60_000;
  }
  return Math.round(instant);
}

/** Altitude of the sun's centre in degrees (no refraction: the event altitudes include it). */
export function sunAltitude(instant: number, latitude: number, longitude: number): number {
  const { declination, equationOfTime } = sunPosition(instant);
  const utcMinutes = (((instant % DAY_MS) + DAY_MS) % DAY_MS) / 60_000;
  const hourAngle = ((utcMinutes + equationOfTime + 4 * longitude) / 4 - 180) * RAD;
  const lat = latitude * RAD;
  const sinAltitude =
    Math.sin(lat) * Math.sin(declination) + Math.cos(lat) * Math.cos(declination) * Math.cos(hourAngle);
  return Math.asin(Math.max(-1, Math.min(1, sinAltitude))) / RAD;
}

const CROSSING_SAMPLE_MS = 10 * 60_000;

/** The first crossing of the event's altitude in the event's direction within [from, to], to the second. */
function findCrossing(rule: EventRule, latitude: number, longitude: number, from: number, to: number): number | null {
  const target = rule.altitude ?? 0;
  const side = (t: number) => sunAltitude(t, latitude, longitude) >= target;
  let lo = from;
  let loAbove = side(lo);
  for (let hi = from + CROSSING_SAMPLE_MS; hi <= to + CROSSING_SAMPLE_MS; hi += CROSSING_SAMPLE_MS) {
    const hiAbove = side(hi);
    if (loAbove !== hiAbove && hiAbove === rule.rising) {
      while (hi - lo > 1000) {
        const mid = Math.floor((lo + hi) / 2);
        if (side(mid) === hiAbove) hi = mid;
        else lo = mid;
      }
      return hi;
    }
    lo = hi;
    loAbove = hiAbove;
  }
  return null;
}

function mod360(degrees: number): number {
  return ((degrees % 360) + 360) % 360;
}
