import type { Broker } from '../broker';

const REFRESH_MS = 5000;
const REVOKE_FOR_MS = 3 * 3600 * 1000;

/**
 * A revoke must bind every worker, including ones that start later, so revoked ids are stored in
 * Redis; but each task is checked at receipt and again at start, too often for a round trip. So
 * each worker checks a copy in memory and reads the stored ids again every REFRESH_MS. An id read
 * from Redis is kept for three refreshes, so one or two failed reads do not un-revoke it.
 */
export class RevokedIds {
  private readonly until = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly onError: (message: string, err: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  has(id: string): boolean {
    const until = this.until.get(id);
    return until !== undefined && until > Date.now();
  }

  add(ids: string[]): void {
    // Stored too, so a revoke broadcast by Python's `celery control revoke` also binds workers that start later.
    void this.broker
      .addRevoked(ids, Date.now() + REVOKE_FOR_MS)
      .catch((e) => this.onError('could not store revoked ids', e));
    for (const id of ids) this.until.set(id, Date.now() + REVOKE_FOR_MS);
  }

  list(): string[] {
    const now = Date.now();
    return [...this.until].filter(([, until]) => until > now).map(([id]) => id);
  }

  async refresh(): Promise<void> {
    try {
      const until = Date.now() + REFRESH_MS * 3;
      for (const id of await this.broker.listRevoked(Date.now())) this.until.set(id, until);
      for (const [id, t] of this.until) if (t < Date.now()) this.until.delete(id);
    } catch (err) {
      this.onError('could not read revoked ids', err);
    }
  }
}
