#!/usr/bin/env node
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const compiled = join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (existsSync(compiled) && !process.env.CELERIAC_FROM_SOURCE) {
  require('./register-ts').register();
  require(compiled).main(process.argv.slice(2));
} else {
  if (!require('./register-ts').register()) {
    console.error('celeriac: no build found (npm run build) and @swc/core is not installed to run from source.');
    process.exit(2);
  }
  require(join(__dirname, '..', 'src', 'cli', 'main.ts')).main(process.argv.slice(2));
}
