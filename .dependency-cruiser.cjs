'use strict';
/**
 * The import rules `npm run lint:deps` (part of `npm test`) checks over src/. Type-only imports
 * count (tsPreCompilationDeps): a type cycle still ties modules together for a reader and for
 * the compiler. docs/architecture.md explains the layers these rules keep.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules depend one way: break a cycle by moving the shared type down, or by a narrow interface.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-facade',
      severity: 'error',
      comment:
        'Parts take the Runtime (src/runtime/runtime.ts), never the Celeriac class that assembles them; only the entry points (index, testing) and the CLI (which loads an app) import it.',
      from: { path: '^src/', pathNot: '^src/(index|testing|celeriac)\\.ts$|^src/cli/' },
      to: { path: '^src/celeriac\\.ts$' },
    },
    {
      name: 'no-public-index',
      severity: 'error',
      comment: 'src/index.ts is the package surface; code inside the package imports the module it needs.',
      from: { path: '^src/', pathNot: '^src/index\\.ts$' },
      to: { path: '^src/index\\.ts$' },
    },
    {
      name: 'runtime-below-parts',
      severity: 'error',
      comment: 'The runtime is what the parts are handed: it may not depend on any of them.',
      from: { path: '^src/runtime/' },
      to: { path: '^src/(worker|beat|canvas|admin|cli)/' },
    },
    {
      name: 'broker-at-the-bottom',
      severity: 'error',
      comment: 'The transports know messages and connections only, nothing about tasks, results or the parts.',
      from: { path: '^src/broker/' },
      to: { path: '^src/(plugin|results|runtime|worker|beat|canvas|admin|cli|db)/' },
    },
    {
      name: 'cli-on-top',
      severity: 'error',
      comment: 'The CLI assembles a process from the parts; no part imports it (what both need lives in the part).',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'admin-is-a-leaf',
      severity: 'error',
      comment: 'Nothing but the facade and the public API builds on the admin.',
      from: { path: '^src/', pathNot: '^src/(admin/|index\\.ts$|testing\\.ts$|celeriac\\.ts$)' },
      to: { path: '^src/admin/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
