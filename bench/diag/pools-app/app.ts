// The app bench/diag/pools.js runs in a worker: `celeriac worker --app bench/diag/pools-app/app.ts`.
import { Celeriac } from '../../../src';

export const celeriac = new Celeriac({
  apps: [__dirname],
  schema: process.env.BENCH_SCHEMA,
  keyPrefix: process.env.BENCH_PREFIX,
  acceptContent: ['json', 'msgpack'],
  logLevel: 'warn',
});
