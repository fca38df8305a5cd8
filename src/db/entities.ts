import { beatEntities } from '../beat/entities';
import { resultEntities } from '../results/entities';

/** Every TypeORM entity Celeriac defines; add to a host app's DataSource when sharing one. */
export const celeriacEntities: Function[] = [...resultEntities, ...beatEntities];
