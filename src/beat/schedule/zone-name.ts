/**
 * The name a crontab's zone is stored under. Intl (hence luxon, hence validation) takes a zone
 * name in any capitalisation, but Python's zoneinfo, which a django-celery-beat sharing the tables
 * reads them with, knows only the proper spelling: 'europe/berlin' or 'utc' would stop it with
 * ZoneInfoNotFoundError. A name written properly, alias or not ('US/Eastern'), is kept as written;
 * one Intl spells differently only in case, or with a segment starting in lower case (no IANA
 * name does), becomes the name Intl resolves it to.
 */
const PROPER = new Map<string, string>();

/** Throws Intl's RangeError for a name that is no zone (the config's check relies on it). */
export function properZoneName(zone: string): string {
  const canonical = canonicalZoneName(zone);
  if (canonical !== undefined) return canonical;
  const known = PROPER.get(zone);
  if (known !== undefined) return known;
  const resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  const misCased = resolved.toLowerCase() === zone.toLowerCase() || zone.split('/').some((part) => /^[a-z]/.test(part));
  const proper = misCased ? resolved : zone;
  // Bounded, like the validation's cache: Intl accepts any capitalisation of every name.
  if (PROPER.size < 2000) PROPER.set(zone, proper);
  return proper;
}

let canonical: Map<string, string> | undefined;

/**
 * The canonical IANA name `zone` spells in any case ('europe/berlin' → 'Europe/Berlin'), or
 * undefined for anything else (an alias such as 'US/Eastern', or no zone at all: ask Intl).
 * Read from Intl's list of zones, ~0.4 MiB, because the first Intl.DateTimeFormat of a process
 * loads ICU's locale data, ~8 MiB of RSS: the config's zone check made every worker pay it,
 * which reads no zone otherwise (peak RSS 76–78 → 79–80 MiB under W1, bench/ANALYSIS.md, seventh
 * round). A canonical name resolves to itself, so the answer is the one Intl would give.
 */
function canonicalZoneName(zone: string): string | undefined {
  if (!canonical) {
    const intl = Intl as { supportedValuesOf?: (key: string) => string[] };
    canonical = new Map([['utc', 'UTC']]);
    for (const name of intl.supportedValuesOf?.('timeZone') ?? []) canonical.set(name.toLowerCase(), name);
  }
  return canonical.get(zone.toLowerCase());
}
