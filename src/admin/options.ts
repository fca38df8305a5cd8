import type { Request } from 'express';
import { ConfigError, closest, shown } from '../errors';
import { MAX_TIMER_MS } from '../time-limit';

/** A check on the incoming request; may be async. Throwing counts as "no". */
export type RequestCheck = (req: Request) => boolean | Promise<boolean>;

export interface AdminOptions {
  /**
   * Who may use the admin (pages and API). Required: the admin refuses to mount without it,
   * unless `insecureNoAuth` is set. Return false and the request gets 401 and no data.
   */
  authorize?: RequestCheck;
  /** Mount with no authorisation at all (local demos only). Refused when NODE_ENV is production. */
  insecureNoAuth?: boolean;
  /**
   * Whether a request may see tracebacks (error stacks) in the API and on pages: true, false, or a
   * check. Default false: error type and message are shown, the stack is not.
   */
  showTracebacks?: boolean | RequestCheck;
  /** Refuse every state-changing route (403): a monitor-only admin, like Flower's read_only. */
  readOnly?: boolean;
  /** Where pages send a visitor who is not authorised (302, with `?next=`); without it they get 401. */
  loginUrl?: string;
  /**
   * Extra origins allowed to make state-changing requests (e.g. 'https://admin.example.com' when a
   * proxy rewrites Host). The request's own host is always allowed.
   */
  trustedOrigins?: string[];
  /** Largest JSON body accepted, as express.json's `limit`. Default '100kb'. */
  bodyLimit?: string | number;
  /** Comment sent on idle event streams so proxies keep them open. Default 15000 ms. */
  sseHeartbeatMs?: number;
  /** Event-stream clients allowed at once; more get 503. Default 100. */
  maxSseClients?: number;
  /** Page title prefix. Default 'Celeriac'. */
  title?: string;
  /**
   * How long a page or API read waits for Postgres (and for this process's queued result
   * writes) before answering 503. Default 5000 ms.
   */
  readTimeoutMs?: number;
  /** How long inspect and control wait for the addressed worker's reply. Default 2000 ms. */
  controlTimeoutMs?: number;
  /**
   * Who made a request, for the action log (purge, pool resize, shutdown…). Default: the first of
   * `req.user.username`, `.email`, `.name`, `.id` that is set, else 'anonymous'.
   */
  actor?: (req: Request) => string | undefined | null;
  /** A "Sign out" link in the navigation (your app's logout URL). None by default. */
  signOutUrl?: string;
  /** A link back to your app in the navigation; `appName` labels it. None by default. */
  appUrl?: string;
  appName?: string;
}

export interface ResolvedAdminOptions {
  authorize: RequestCheck;
  showTracebacks: RequestCheck;
  readOnly: boolean;
  loginUrl: string | undefined;
  trustedOrigins: string[];
  bodyLimit: string | number;
  sseHeartbeatMs: number;
  maxSseClients: number;
  title: string;
  readTimeoutMs: number;
  controlTimeoutMs: number;
  actor: (req: Request) => string;
  signOutUrl: string | undefined;
  appUrl: string | undefined;
  appName: string;
}

const known = [
  'authorize',
  'insecureNoAuth',
  'showTracebacks',
  'readOnly',
  'loginUrl',
  'trustedOrigins',
  'bodyLimit',
  'sseHeartbeatMs',
  'maxSseClients',
  'title',
  'readTimeoutMs',
  'controlTimeoutMs',
  'actor',
  'signOutUrl',
  'appUrl',
  'appName',
] as const satisfies readonly (keyof AdminOptions)[];

const defaults = {
  bodyLimit: '100kb',
  sseHeartbeatMs: 15_000,
  maxSseClients: 100,
  title: 'Celeriac',
  readTimeoutMs: 5000,
  controlTimeoutMs: 2000,
} satisfies Partial<ResolvedAdminOptions>;

/** Checks the options once, when the admin is built; a bad one fails with its name and what would be right. */
export function resolveAdminOptions(options: AdminOptions, env: NodeJS.ProcessEnv = process.env): ResolvedAdminOptions {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError(
      'admin',
      `expected an options object like { authorize: (req) => Boolean(req.user?.isStaff) }, got ${typeof options}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!(known as readonly string[]).includes(key)) {
      const hint = closest(key, known);
      throw new ConfigError(`admin.${key}`, `unknown option${hint ? ` (did you mean '${hint}'?)` : ''}`);
    }
  }
  let authorize: RequestCheck;
  if (options.authorize !== undefined) {
    if (typeof options.authorize !== 'function')
      throw new ConfigError('admin.authorize', `expected a function (req) => boolean, got ${typeof options.authorize}`);
    if (options.insecureNoAuth)
      throw new ConfigError('admin.insecureNoAuth', 'cannot be combined with authorize: pass one or the other');
    authorize = options.authorize;
  } else if (options.insecureNoAuth === true) {
    if (env.NODE_ENV === 'production') {
      throw new ConfigError(
        'admin.insecureNoAuth',
        'refused because NODE_ENV is production: pass authorize: (req) => … to let only your staff in',
      );
    }
    authorize = () => true;
  } else {
    throw new ConfigError(
      'admin.authorize',
      'the admin can create, revoke and schedule tasks, so it will not mount without an authorize(req) hook ' +
        '(e.g. authorize: (req) => Boolean(req.user?.isStaff)). For a local demo only, pass insecureNoAuth: true.',
    );
  }
  const st = options.showTracebacks;
  if (st !== undefined && typeof st !== 'boolean' && typeof st !== 'function') {
    throw new ConfigError(
      'admin.showTracebacks',
      `expected true, false or a function (req) => boolean, got ${typeof st}`,
    );
  }
  const showTracebacks: RequestCheck = typeof st === 'function' ? st : () => st === true;
  if (options.loginUrl !== undefined && (typeof options.loginUrl !== 'string' || !options.loginUrl.startsWith('/'))) {
    throw new ConfigError(
      'admin.loginUrl',
      `expected a path on this site starting with '/', got ${shown(options.loginUrl)}`,
    );
  }
  const trustedOrigins = options.trustedOrigins ?? [];
  for (const o of trustedOrigins) {
    let ok = false;
    try {
      ok = new URL(o).origin === o;
    } catch {
      // not a URL at all: refused below, with the others that are not bare origins
    }
    if (!ok)
      throw new ConfigError(
        'admin.trustedOrigins',
        `${shown(o)} is not an origin: use scheme://host[:port], e.g. https://admin.example.com`,
      );
  }
  const positive = (key: string, v: unknown, fallback: number) => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      throw new ConfigError(`admin.${key}`, `expected a positive integer, got ${shown(v)}`);
    return v;
  };
  // Each is armed with setTimeout/setInterval, which fires after 1 ms past 2^31-1 ms: every read
  // would answer 503 at once, every event stream be pinged without pause.
  const delayMs = (key: string, v: unknown, fallback: number) => {
    const ms = positive(key, v, fallback);
    if (ms > MAX_TIMER_MS)
      throw new ConfigError(`admin.${key}`, `expected at most ${MAX_TIMER_MS} ms (about 24 days), got ${ms}`);
    return ms;
  };
  const link = (key: 'signOutUrl' | 'appUrl') => {
    const v = options[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !(v.startsWith('/') || /^https?:\/\//.test(v)) || /[\s"'<>]/.test(v))
      throw new ConfigError(`admin.${key}`, `expected a path starting with '/' or an http(s) URL, got ${shown(v)}`);
    return v;
  };
  if (options.actor !== undefined && typeof options.actor !== 'function')
    throw new ConfigError('admin.actor', `expected a function (req) => string, got ${typeof options.actor}`);
  const actorOption = options.actor;
  const actor = (req: Request) => {
    try {
      const who = actorOption ? actorOption(req) : defaultActor(req);
      return typeof who === 'string' && who !== '' ? who.slice(0, 200) : 'anonymous';
    } catch {
      return 'unknown (actor() threw)';
    }
  };
  return {
    actor,
    signOutUrl: link('signOutUrl'),
    appUrl: link('appUrl'),
    appName: typeof options.appName === 'string' && options.appName !== '' ? options.appName : 'Back to the app',
    authorize,
    showTracebacks,
    readOnly: options.readOnly ?? false,
    loginUrl: options.loginUrl,
    trustedOrigins,
    bodyLimit: options.bodyLimit ?? defaults.bodyLimit,
    sseHeartbeatMs: delayMs('sseHeartbeatMs', options.sseHeartbeatMs, defaults.sseHeartbeatMs),
    maxSseClients: positive('maxSseClients', options.maxSseClients, defaults.maxSseClients),
    title: titleOption(options.title),
    readTimeoutMs: delayMs('readTimeoutMs', options.readTimeoutMs, defaults.readTimeoutMs),
    controlTimeoutMs: delayMs('controlTimeoutMs', options.controlTimeoutMs, defaults.controlTimeoutMs),
  };
}

function defaultActor(req: Request): string | undefined {
  const user = (req as Request & { user?: Record<string, unknown> }).user;
  if (!user || typeof user !== 'object') return undefined;
  for (const key of ['username', 'email', 'name', 'id']) {
    const v = user[key];
    if (typeof v === 'string' || typeof v === 'number') return String(v);
  }
  return undefined;
}

/** Runs a check; an exception counts as a refusal (and is reported), never as a pass. */
export async function passes(check: RequestCheck, req: Request, onError: (err: unknown) => void): Promise<boolean> {
  try {
    return (await check(req)) === true;
  } catch (err) {
    onError(err);
    return false;
  }
}

/** The title is written into every page's <title> and heading: String() of a prototype-less object throws there, on each render. */
function titleOption(v: unknown): string {
  if (v === undefined) return defaults.title;
  if (typeof v !== 'string') throw new ConfigError('admin.title', `expected a string such as 'Ops', got ${shown(v)}`);
  return v;
}
