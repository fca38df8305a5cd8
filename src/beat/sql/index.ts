/**
 * Beat's statement catalogue: every statement beat runs against its tables, one per file, each
 * opened by why it is shaped that way. Built once per beat for its schema.
 */
import { analyzeTables } from './analyzeTables';
import { claimDueRuns } from './claimDueRuns';
import { finishBatch } from './finishBatch';
import { deleteHeartbeat, upsertHeartbeat } from './heartbeat';
import { markRowErrors } from './markRowErrors';
import { nextWake } from './nextWake';
import { firstStaleAfter, planIntervals } from './planIntervals';
import { probeTables } from './probeTables';
import { selectStaleRows, writePlannedRows } from './replanStale';
import { selectDueRuns } from './selectDueRuns';
import { takeOverBatches } from './takeOverBatches';
import { unparkRows } from './unparkRows';

export type { Statement } from './statement';
export type { Claim, ClaimGroup, ClaimRun } from './claimDueRuns';
export type { PlannedRow } from './replanStale';
export type { IntervalRound } from './planIntervals';
export type { RowFault } from './markRowErrors';
export type { TakenBatch } from './takeOverBatches';

export function beatStatements(schema: string) {
  return {
    probe: probeTables(schema),
    unpark: unparkRows(schema),
    analyze: analyzeTables(schema),
    selectStale: selectStaleRows(schema),
    writePlanned: writePlannedRows(schema),
    firstStaleAfter: firstStaleAfter(schema),
    planIntervals: planIntervals(schema),
    markErrors: markRowErrors(schema),
    selectDue: selectDueRuns(schema),
    claim: claimDueRuns(schema),
    finish: finishBatch(schema),
    takeOver: takeOverBatches(schema),
    nextWake: nextWake(schema),
    heartbeat: upsertHeartbeat(schema),
    bye: deleteHeartbeat(schema),
  };
}

export type BeatStatements = ReturnType<typeof beatStatements>;
