import { Celeriac, createEmbeddedDataSource } from '../../src';

/**
 * The app's one Celeriac instance (what `celeriac worker --app src/celeriac.ts` loads).
 * With DATABASE_URL / CELERIAC_BROKER_URL set it uses the real servers; without them it runs on
 * an in-process Postgres and the in-memory broker, which only works inside one process (npm run demo).
 */
export const embedded = !process.env.DATABASE_URL;
export const celeriac = new Celeriac({
  apps: ['./reports', './emails', './maintenance'], // relative to this file
  dataSource: embedded ? createEmbeddedDataSource({ dataDir: process.env.CELERIAC_DEMO_DATA }) : undefined,
  brokerUrl: process.env.CELERIAC_BROKER_URL ?? (embedded ? 'memory://demo' : undefined),
  // CELERIAC_SCHEMA and CELERIAC_KEY_PREFIX (read by Celeriac) share one database and one Redis
  // with other apps, and let the tests isolate themselves.
  routes: { 'emails.*': { queue: 'emails' } },
  // Declared in code and synced into the periodic-task tables when beat starts; more can be added
  // (and these paused) from the admin's Periodic tasks page.
  beatSchedule: {
    'purge sessions': { task: 'maintenance.purgeSessions', schedule: 300, description: 'Every 5 minutes' },
    'weekday report': {
      task: 'reports.build',
      args: ['Daily summary', 3],
      schedule: { kind: 'crontab', minute: '30', hour: '7', dayOfWeek: 'mon-fri', timezone: 'Europe/Berlin' },
      description: 'Weekdays at 07:30 Berlin time',
    },
  },
});
