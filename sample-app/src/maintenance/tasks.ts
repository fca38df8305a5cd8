import { task } from '../../../src';

/** Run by beat on a schedule: a stand-in for the housekeeping every app has. */
export const purgeSessions = task('maintenance.purgeSessions', async () => {
  const purged = Math.floor(Math.random() * 20);
  return { purged, at: new Date().toISOString() };
});
