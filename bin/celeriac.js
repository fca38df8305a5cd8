#!/usr/bin/env node
'use strict';
/**
 * The celeriac command. An installed package runs its build (dist/); a checkout of the repository
 * (src/ next to bin/) runs its sources through the TypeScript loader, so a stale dist/ is never
 * what runs there.
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { register, missingCompilerMessage } = require('./register-ts');

const root = join(__dirname, '..');
const fromSource = existsSync(join(root, 'src', 'cli', 'main.ts'));
const entry = fromSource ? join(root, 'src', 'cli', 'main.ts') : join(root, 'dist', 'src', 'cli', 'main.js');
// Registered here, before the app loads, so `--app src/celeriac.ts` works for every command.
const canLoadTs = register();
if (!existsSync(entry) || (fromSource && !canLoadTs)) {
  console.error(
    fromSource
      ? `celeriac: running from a checkout needs its dev dependencies: ${missingCompilerMessage(entry)}`
      : `celeriac: ${entry} is missing: this copy of the package was not built. Reinstall it, or run npm run build in it.`,
  );
  process.exit(2);
}
require(entry).main(process.argv.slice(2), { canLoadTs });
