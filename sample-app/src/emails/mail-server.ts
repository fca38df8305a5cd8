export class MailServerDown extends Error {
  name = 'MailServerDown';
}

/** A fake SMTP server that refuses a share of deliveries, to show retries. */
export class FlakyMailServer {
  delivered: { to: string; subject: string }[] = [];
  constructor(private readonly failureRate: number) {}

  async deliver(to: string, subject: string): Promise<void> {
    await new Promise((r) => setTimeout(r, 50));
    if (Math.random() < this.failureRate) throw new MailServerDown(`451 try again later (to ${to})`);
    this.delivered.push({ to, subject });
  }
}
