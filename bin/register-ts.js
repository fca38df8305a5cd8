'use strict';
/**
 * Lets `celeriac worker --app app.ts` (and the threads pool) load TypeScript apps without a build
 * step, using @swc/core when the app has it. Legacy decorators and their metadata are on, as
 * TypeORM needs; apps that compile with standard decorators should run compiled JS instead.
 * Does nothing when .ts is already handled (ts-node, tsx, swc-node were loaded first).
 */
const Module = require('node:module');

function register() {
  if (require.extensions['.ts']) return true;
  let swc;
  try {
    swc = require(require.resolve('@swc/core', { paths: [process.cwd(), __dirname] }));
  } catch {
    return false;
  }
  const options = {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  };
  require.extensions['.ts'] = function (module, filename) {
    const source = require('node:fs').readFileSync(filename, 'utf8');
    const { code } = swc.transformSync(source, { ...options, filename });
    module._compile(code, filename);
  };
  void Module;
  return true;
}

module.exports = { register };
