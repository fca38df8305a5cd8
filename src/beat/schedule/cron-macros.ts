import { CronExpressionParser } from 'cron-parser';

/**
 * `@daily` and the other macros, as the five fields they stand for (`0 0 * * *`), read by
 * cron-parser: @yearly, @annually, @monthly, @weekly, @daily, @hourly, @minutely, @weekdays,
 * @weekends, any case. `@midnight` (Vixie cron's name for @daily) is kept: beat accepted it
 * before cron-parser read the macros. Null for anything else, and for @secondly, whose seconds
 * beat cannot keep (its resolution is the minute, as Celery's crontab's is).
 */
export function cronMacro(text: string): string | null {
  const name = text.trim().toLowerCase();
  if (!name.startsWith('@')) return null;
  let expression;
  try {
    expression = CronExpressionParser.parse(name === '@midnight' ? '@daily' : name);
  } catch {
    return null; // not a macro cron-parser knows: '@' is no character of any cron field
  }
  const seconds = expression.fields.second.values;
  if (seconds.length !== 1 || seconds[0] !== 0) return null;
  return expression.stringify(); // minute hour day-of-month month day-of-week
}
