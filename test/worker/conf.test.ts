import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config';
import { describeConf } from '../../src/worker/conf';
import type { WorkerStats } from '../../src/worker/control-surface';
import { makeCertificate } from '../serial/certificates';

/** `inspect conf` goes to any monitor on the broker: no password, key or signing secret in it. */
test('inspect conf masks every secret and lists what a Set holds', () => {
  const { key, cert } = makeCertificate(mkdtempSync(join(tmpdir(), 'celeriac-conf-')), 'conf');
  const config = resolveConfig(
    {
      databaseUrl: 'postgres://app:db-secret@127.0.0.1:5432/test',
      brokerUrl: 'sentinel://:broker-secret@127.0.0.1:26379',
      brokerTransportOptions: { masterName: 'm', sentinelPassword: 'sentinel-secret' },
      signing: { secret: 'signing-secret-of-thirty-two-characters' },
      taskSerializer: 'auth',
      acceptContent: ['auth', 'json'],
      security: { key, certificate: cert, certStore: [cert] },
    },
    {},
  );
  const conf = describeConf(config, { name: 'w', queues: ['celery'], concurrency: 1, pool: 'async' } as WorkerStats);
  const text = JSON.stringify(conf);
  for (const secret of ['db-secret', 'broker-secret', 'sentinel-secret', 'signing-secret', 'PRIVATE KEY', 'BEGIN'])
    expect(text).not.toContain(secret);
  expect(conf).toMatchObject({ security: '********', taskSerializer: 'auth' });
  expect(conf.acceptContent).toEqual(['application/data', 'application/json']);
});
