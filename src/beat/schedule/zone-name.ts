/**
 * The name a crontab's zone is stored under. Intl (hence luxon, hence validation) takes a zone
 * name in any capitalisation, but Python's zoneinfo, which a django-celery-beat sharing the tables
 * reads them with, knows only the proper spelling: 'europe/berlin' or 'utc' would stop it with
 * ZoneInfoNotFoundError. A name written properly, alias or not ('US/Eastern'), is kept as written;
 * one Intl spells differently only in case, or with a segment starting in lower case (no IANA
 * name does), becomes the name Intl resolves it to.
 */
const PROPER = new Map<string, string>();

/** `zone` must already be valid (IANAZone.isValidZone). */
export function properZoneName(zone: string): string {
  const known = PROPER.get(zone);
  if (known !== undefined) return known;
  const resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  const misCased = resolved.toLowerCase() === zone.toLowerCase() || zone.split('/').some((part) => /^[a-z]/.test(part));
  const proper = misCased ? resolved : zone;
  // Bounded, like the validation's cache: Intl accepts any capitalisation of every name.
  if (PROPER.size < 2000) PROPER.set(zone, proper);
  return proper;
}
