import type { ErrorRequestHandler, Request } from 'express';
import { textProblem } from '../db/limits';
import { BrokerUnavailableError } from '../errors';
import { onCalendar } from '../storable';
import type { Logger } from '../log';
import { html } from './html';
import { stylesheetLinks } from './static';

/** Field → message, the shape every 400 carries so a form can show each message next to its input. */
export type FieldErrors = Record<string, string>;

/**
 * An empty FieldErrors with no prototype: a client's field named `__proto__` must become an
 * entry like any other, where `{}[key] = …` would replace the object's prototype and record
 * nothing (a 400 with an empty `errors`).
 */
export function fieldErrors(): FieldErrors {
  return Object.create(null) as FieldErrors;
}

/**
 * An error the API answers with its own status and a stable `error` code. Every error body is
 * `{ error, message, errors? }`: `error` for programs, `message` for people, `errors` per field.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors?: FieldErrors,
  ) {
    super(message);
  }
}

export function validationFailed(errors: FieldErrors): HttpError {
  const fields = Object.keys(errors);
  return new HttpError(
    400,
    'validation_failed',
    `Invalid ${fields.join(', ')}: ${fields.map((f) => `${f}: ${errors[f]}`).join('; ')}`,
    errors,
  );
}

/** 404 naming the URL parameter (`id`) that matched nothing, in the same field shape as a 400. */
export function notFound(what: string, field = 'id'): HttpError {
  const message = `${what} does not exist.`;
  const errors = fieldErrors();
  errors[field] = message;
  return new HttpError(404, 'not_found', message, errors);
}

/**
 * 409: the request is well formed but the resource the URL part `field` names is in a state the
 * action does not apply to; the field shape as in a 400, so a form can show it beside the id.
 */
export function conflict(code: string, message: string, field = 'id'): HttpError {
  return new HttpError(409, code, message, Object.assign(fieldErrors(), { [field]: message }));
}

/** 503 for a dependency that did not answer in time: the request was fine, the server is not. */
export function unavailable(code: string, message: string): HttpError {
  return new HttpError(503, code, message);
}

/** The one error handler at the end of the router: known errors keep their status, the rest are 500s that leak nothing. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const body = toBody(err, req);
    if (body.status >= 500 && body.code === 'internal_error') {
      logger.log('error', 'admin request failed', {
        path: req.originalUrl,
        error: err instanceof Error ? err.message : String(err),
      });
    }
    res.status(body.status).set('Cache-Control', 'no-store');
    if (body.status === 503) res.set('Retry-After', '5');
    const payload: Record<string, unknown> = { error: body.code, message: body.message };
    if (body.errors) payload.errors = body.errors;
    if (wantsHtml(req)) {
      res.type('html').send(plainPage(req.baseUrl, String(body.status), body.message));
      return;
    }
    res.json(payload);
  };
}

function toBody(err: unknown, req: Request): { status: number; code: string; message: string; errors?: FieldErrors } {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message, errors: err.errors };
  const e = err as {
    type?: string;
    status?: number;
    statusCode?: number;
    limit?: number;
    message?: string;
    name?: string;
  };
  const one = (field: string, message: string) => Object.assign(fieldErrors(), { [field]: message });
  // body-parser's errors: say what went wrong with the body, in the same field-error shape.
  if (e?.type === 'entity.too.large') {
    const message = `The request body is larger than the admin accepts (${e.limit} bytes); send less data, or raise the admin's bodyLimit.`;
    return { status: 413, code: 'payload_too_large', message, errors: one('body', message) };
  }
  if (e?.type === 'entity.parse.failed') {
    const message = `The body is not valid JSON (${e.message}).`;
    return { status: 400, code: 'invalid_json', message, errors: one('body', message) };
  }
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    const message = `${String(e.message)}: send UTF-8 JSON, uncompressed or gzip/deflate/br compressed.`;
    return { status: 415, code: 'unsupported_media_type', message, errors: one('body', message) };
  }
  if (err instanceof BrokerUnavailableError) {
    return { status: 503, code: 'broker_unavailable', message: err.message };
  }
  // Other client errors raised before a route runs keep their 4xx: Express's router failing to
  // decode a URL parameter ('%ZZ'), body-parser failing to inflate a body labelled gzip that
  // is not, an aborted upload. Treating them as 500s would blame the server for the client.
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (e.name === 'URIError') {
      const message = `The URL is not valid percent-encoding (${e.message}): encode each part with encodeURIComponent.`;
      return { status: 400, code: 'invalid_url', message, errors: one('path', message) };
    }
    const message = `The request could not be read (${String(e.message)}).`;
    return { status, code: 'bad_request', message, errors: one('body', message) };
  }
  void req;
  return {
    status: 500,
    code: 'internal_error',
    message: 'The admin could not complete this request; the server log has the details.',
  };
}

/** Page routes answer errors with a page; everything under /api answers JSON. */
export function wantsHtml(req: Request): boolean {
  return !req.path.startsWith('/api/') && req.method === 'GET' && (req.get('accept') ?? '').includes('text/html');
}

/** A bare page for errors and refusals: no data, the admin's stylesheet, nothing else. */
export function plainPage(base: string, heading: string, message: string): string {
  return `<!doctype html>\n${html`<html lang="en"><head><meta charset="utf-8"><title>${heading}</title><link rel="icon" href="data:,">
${stylesheetLinks(base)}</head>
<body class="plain-page"><main><h1>${heading}</h1><p>${message}</p><p><a href="${base}/">Celeriac admin</a></p></main></body></html>`}`;
}

/** Anything with a parsed query string: a request, or a page's filters turned into API parameters. */
export type QueryHolder = Pick<Request, 'query'>;

/** One string from a query parameter, or undefined; repeated parameters count as a mistake. */
export function queryString(req: QueryHolder, name: string, errors: FieldErrors): string | undefined {
  const v = req.query[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') {
    errors[name] = 'give this parameter once, as plain text';
    return undefined;
  }
  const problem = textProblem(v);
  if (problem) {
    errors[name] = problem;
    return undefined;
  }
  return v;
}

export function queryInt(
  req: QueryHolder,
  name: string,
  errors: FieldErrors,
  min: number,
  max: number,
  fallback: number,
): number {
  const raw = queryString(req, name, errors);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw) || n < min || n > max) {
    errors[name] = `expected a whole number from ${min} to ${max}, got '${raw}'`;
    return fallback;
  }
  return n;
}

export function queryDate(req: QueryHolder, name: string, errors: FieldErrors): Date | undefined {
  const raw = queryString(req, name, errors);
  if (raw === undefined) return undefined;
  const d = parseInstant(raw);
  if (!d) errors[name] = `'${raw}' is not a date: use ISO 8601 like 2026-11-22T09:30:00Z`;
  return d ?? undefined;
}

/** ISO 8601: a date, or a date and time with its offset (a bare local time would mean a different instant on every server). */
export function parseInstant(raw: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/.exec(raw);
  if (!m || !onCalendar(Number(m[1]), Number(m[2]), Number(m[3]))) return null;
  const d = new Date(raw);
  return Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1 ? null : d;
}
