import type { RequestHandler } from 'express';
import type { Celeriac } from '../celeriac';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The Celeriac app: send tasks (`req.celeriac.sendTask`) and read results (`req.celeriac.asyncResult(id)`). */
      celeriac: Celeriac;
    }
  }
}

/** `app.use(celeriac.middleware())`: nothing connects until a handler first sends or reads. */
export function celeriacMiddleware(app: Celeriac): RequestHandler {
  return (req, _res, next) => {
    req.celeriac = app;
    next();
  };
}
