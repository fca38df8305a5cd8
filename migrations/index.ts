import { CeleriacTaskResults1790000000001 } from './0001-task-results';
import { CeleriacBeat1790000000002 } from './0002-beat';
import { CeleriacResultCreatedIndex1790000000003 } from './0003-result-created-index';
import { CeleriacBrokerCoordination1790000000004 } from './0004-broker-coordination';
import { CeleriacBeatOutboxLz41790000000005 } from './0005-beat-outbox-lz4';

/** Every Celeriac migration in order; host apps that run their own migrations can append these. */
export const celeriacMigrations = [
  CeleriacTaskResults1790000000001,
  CeleriacBeat1790000000002,
  CeleriacResultCreatedIndex1790000000003,
  CeleriacBrokerCoordination1790000000004,
  CeleriacBeatOutboxLz41790000000005,
];
