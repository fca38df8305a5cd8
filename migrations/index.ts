import { CeleriacTaskResults1790000000001 } from './0001-task-results';

/** Every Celeriac migration in order; host apps that run their own migrations can append these. */
export const celeriacMigrations = [CeleriacTaskResults1790000000001];
