import { task } from '../../../src';
import { FlakyMailServer, MailServerDown } from './mail-server';

const server = new FlakyMailServer(0.5);

/** Sends through a mail server that fails half the time: autoretry with exponential backoff. */
export const sendWelcome = task(
  'emails.welcome',
  async (ctx, to: string) => {
    await server.deliver(to, 'Welcome!');
    return { to, attempts: ctx.retries + 1 };
  },
  { autoretryFor: [MailServerDown], retryBackoff: 1, retryBackoffMax: 8, maxRetries: 6 },
);
