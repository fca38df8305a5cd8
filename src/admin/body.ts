import type { RequestHandler } from 'express';
import { jsonProblems, MAX_JSON_DEPTH } from '../db/limits';
import { fieldErrors, validationFailed, type FieldErrors } from './http';

/**
 * Every JSON body is checked here once, before any route reads it, for what no route should
 * have to think about: text Postgres cannot store (U+0000, lone surrogates) in any value or key,
 * nesting deeper than MAX_JSON_DEPTH, numbers JSON.parse turned into Infinity (`1e400`), and
 * keys named `__proto__`, `constructor` or `prototype` (refused by name: copied with
 * Object.assign they replace a prototype, and as a field name they slipped past every
 * unknown-field check). All problems come back in one 400, one per field.
 */

/** The bodies' own nested objects, whose keys are fields in their own right (`options.queue`). */
const NESTED_FIELDS = new Set(['options', 'schedule']);
const MAX_REPORTED = 50;

export function bodyErrors(body: unknown): FieldErrors {
  const errors = fieldErrors();
  for (const p of jsonProblems(body, '', { maxDepth: MAX_JSON_DEPTH, limit: MAX_REPORTED })) {
    const [first, second] = p.segments;
    const field =
      typeof first !== 'string'
        ? 'body'
        : NESTED_FIELDS.has(first) && typeof second === 'string' && p.segments.length >= 2
          ? `${first}.${second}`
          : first;
    errors[field] ??= `${p.path || 'the body'} ${p.message}`;
  }
  return errors;
}

export const checkBody: RequestHandler = (req, _res, next) => {
  if (req.body !== undefined) {
    const errors = bodyErrors(req.body);
    if (Object.keys(errors).length) throw validationFailed(errors);
  }
  next();
};
