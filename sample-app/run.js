'use strict';
// Runs a TypeScript entry point of the sample app without a build step (through @swc/core).
require('../bin/register-ts').register();
require(require('node:path').resolve(process.argv[2]));
