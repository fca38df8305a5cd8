import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../log';
import { HttpError, plainPage } from './http';
import { passes, type ResolvedAdminOptions } from './options';

/**
 * The admin's three gates:
 * 1. authorize(req) on every request but the static scripts (which hold no data);
 * 2. for state-changing requests, a JSON content type: an HTML form can only send urlencoded,
 *    multipart or text/plain, and a cross-site fetch with JSON needs a CORS preflight we never
 *    approve, so no other site can make a browser send one;
 * 3. and proof the request comes from our own pages: an Origin (or Referer) of this host, or a
 *    CSRF token matching this browser's cookie (double submit). A token that is sent must match;
 *    a foreign Origin is refused even with a token.
 */

export const CSRF_COOKIE = 'celeriac_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function authorization(options: ResolvedAdminOptions, logger: Logger): RequestHandler {
  return async (req, res, next) => {
    const ok = await passes(options.authorize, req, (err) =>
      logger.log('error', 'admin authorize() threw; the request was refused', {
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    if (ok) return next();
    res.set('Cache-Control', 'no-store');
    const isPage = !req.path.startsWith('/api/') && req.method === 'GET';
    if (isPage && options.loginUrl) {
      const sep = options.loginUrl.includes('?') ? '&' : '?';
      return res.redirect(302, `${options.loginUrl}${sep}next=${encodeURIComponent(req.originalUrl)}`);
    }
    if (isPage) {
      return res
        .status(401)
        .type('html')
        .send(plainPage(req.baseUrl, 'Sign in', 'Sign in to the application to use this admin.'));
    }
    res.status(401).json({
      error: 'unauthorized',
      message: 'Not authorised to use the Celeriac admin: sign in to the application first.',
    });
  };
}

/** This browser's CSRF token, creating its cookie on first use. */
export function csrfToken(req: Request, res: Response): string {
  const existing = readCookie(req, CSRF_COOKIE);
  if (existing && /^[\w-]{43}$/.test(existing)) return existing;
  const token = randomBytes(32).toString('base64url');
  const attrs = [`${CSRF_COOKIE}=${token}`, `Path=${req.baseUrl || '/'}`, 'HttpOnly', 'SameSite=Strict'];
  if (req.secure) attrs.push('Secure');
  res.append('Set-Cookie', attrs.join('; '));
  // Later code in this request (the page template) sees the same token.
  (req.headers as Record<string, string>).cookie =
    `${req.headers.cookie ? req.headers.cookie + '; ' : ''}${CSRF_COOKIE}=${token}`;
  return token;
}

export function csrfProtection(options: ResolvedAdminOptions): RequestHandler {
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) return next();
    if (options.readOnly)
      throw new HttpError(
        403,
        'read_only',
        'This admin is read-only (readOnly: true): nothing can be changed through it.',
      );
    if (!jsonContentType(req)) {
      const message = `State-changing requests must send Content-Type: application/json (got ${req.get('content-type') ?? 'none'}); this is part of the admin's CSRF protection.`;
      throw new HttpError(415, 'unsupported_media_type', message, { 'content-type': message });
    }
    const source = requestSource(req);
    if (source !== undefined && !isSameOrigin(source, req, options.trustedOrigins)) {
      throw new HttpError(
        403,
        'csrf_failed',
        `Cross-origin request refused: ${source} is not this admin's origin (add it to trustedOrigins if it should be).`,
      );
    }
    const sent = req.get(CSRF_HEADER);
    if (sent !== undefined) {
      const expected = readCookie(req, CSRF_COOKIE);
      if (!expected || !equal(sent, expected)) {
        throw new HttpError(
          403,
          'csrf_failed',
          "The CSRF token does not match this browser's session: reload the page and try again.",
        );
      }
      return next();
    }
    if (source === undefined) {
      throw new HttpError(
        403,
        'csrf_failed',
        `Missing CSRF proof: send the ${CSRF_HEADER} header (GET api/csrf gives the token) or an Origin header of this site.`,
      );
    }
    next();
  };
}

/**
 * Whether the request is labelled JSON, read from the header itself: `req.is()` answers null for
 * a request without a body, which refused `DELETE` sent with `Content-Type: application/json`
 * and no body. A DELETE may also leave the type out when it sends no body: no HTML form can send
 * DELETE, and a cross-site fetch with it needs a CORS preflight, so the type adds no protection.
 */
function jsonContentType(req: Request): boolean {
  const type = req.get('content-type');
  if (type === undefined) return req.method === 'DELETE' && !hasBody(req);
  return type.split(';')[0].trim().toLowerCase() === 'application/json';
}

function hasBody(req: Request): boolean {
  return req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;
}

/** Where a browser says the request came from: Origin, else the Referer's origin; undefined from non-browser clients. */
function requestSource(req: Request): string | undefined {
  const origin = req.get('origin');
  if (origin && origin !== 'null') return origin;
  if (origin === 'null') return 'null';
  const referer = req.get('referer');
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return 'null';
  }
}

function isSameOrigin(source: string, req: Request, trusted: string[]): boolean {
  if (trusted.includes(source)) return true;
  let host: string;
  try {
    host = new URL(source).host;
  } catch {
    return false;
  }
  // Host, not scheme: behind a TLS-terminating proxy the app sees http while the browser says https.
  // req.host honours X-Forwarded-Host only when the app trusts its proxy.
  const own = req.host;
  return !!own && host.toLowerCase() === own.toLowerCase();
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Headers on every admin response: no caching of data, no framing, no sniffing, scripts only from the admin itself. */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'same-origin',
    'Content-Security-Policy':
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
      "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  });
  next();
};
