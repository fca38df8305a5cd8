'use strict';
/**
 * `node -r celeriac/register src/server.ts`: run a TypeScript entry point (of a CommonJS app)
 * through the same loader the celeriac CLI uses. See register-ts.js.
 */
const { register, missingCompilerMessage } = require('./register-ts');

if (!register()) throw new Error(`celeriac/register: ${missingCompilerMessage()}`);
