import type { OutageInfo } from '../outage';
import type { WriteResult } from './batch-write';
import type { StateUpdate } from './rows';

/** The result store's options, events and health (store.ts). */

export interface ResultStoreOptions {
  /** Result batches written at once (batches-in-flight.ts); Default 1: one batch at a time. */
  batchesInFlight?: number;
}

export interface ResultStoreEvents {
  committed: [updates: StateUpdate[]];
  /** A state Postgres refused, and what was written instead (see replacement.ts). */
  unstorable: [original: StateUpdate, result: Extract<WriteResult, { stored: 'replaced' | 'dropped' }>];
  error: [err: Error];
}

/** What the worker's health (`inspect stats`, the admin's workers page) shows of the store. */
export interface StoreHealth {
  /** States not yet committed, including a batch in flight. */
  backlog: number;
  /** States Postgres refused, written as a replacement or dropped, since this process started. */
  unstorable: number;
  /** Postgres as the store sees it: down (writes failing) since when, with which error. */
  postgres: OutageInfo;
  /**
   * How long the batch in flight has waited for Postgres, once that passes STALL_WARN_MS, else 0:
   * a store that is not down but wedged (a lock held by a migration, an overloaded server).
   */
  stalledMs: number;
}
