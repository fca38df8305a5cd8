/** How a wrong value is quoted in a FieldError message: its type as well as its text, since '5' and 5 differ. */
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a Date';
  return typeof value === 'string' ? `the string '${value}'` : `${typeof value} ${String(value)}`;
}
