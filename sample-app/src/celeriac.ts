import { Celeriac, createEmbeddedDataSource } from '../../src';

/**
 * The app's one Celeriac instance (what `celeriac worker --app src/celeriac.ts` loads).
 * With DATABASE_URL / CELERIAC_BROKER_URL set it uses the real servers; without them it runs on
 * an in-process Postgres and the in-memory broker, which only works inside one process (npm run demo).
 */
export const embedded = !process.env.DATABASE_URL;
export const celeriac = new Celeriac({
  apps: [__dirname + '/reports', __dirname + '/emails', __dirname + '/maintenance'],
  dataSource: embedded ? createEmbeddedDataSource({ dataDir: process.env.CELERIAC_DEMO_DATA }) : undefined,
  brokerUrl: process.env.CELERIAC_BROKER_URL ?? (embedded ? 'memory://demo' : undefined),
  routes: { 'emails.*': { queue: 'emails' } },
});
