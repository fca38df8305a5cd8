import type { AddressInfo } from 'node:net';
import { celeriac, embedded } from './celeriac';
import { createWeb } from './web';

/** `npm run demo`: web, worker (and beat, once it exists) in one process, on embedded defaults unless told otherwise. */
async function main() {
  console.log(
    embedded
      ? 'Celeriac demo: embedded Postgres (PGlite) and in-memory broker; set DATABASE_URL and CELERIAC_BROKER_URL to use real servers.'
      : `Celeriac demo: Postgres from DATABASE_URL, broker ${process.env.CELERIAC_BROKER_URL ?? 'redis://127.0.0.1:6379/0'}.`,
  );
  await celeriac.migrate();
  const worker = celeriac.worker({ queues: ['celery', 'emails'], name: 'demo-worker' });
  await worker.start();
  await celeriac.beat().start();
  const port = Number(process.env.PORT ?? 3000);
  // Express 5 passes listen errors (EADDRINUSE) to this callback, where server.address() is null.
  const server = createWeb().listen(port, (error) => {
    if (error) throw error;
    console.log(`Sample app on http://localhost:${(server.address() as AddressInfo).port}`);
  });
  const stop = async () => {
    server.close();
    await celeriac.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
