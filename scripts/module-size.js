#!/usr/bin/env node
// Issue 16's rule, kept by `npm run lint:deps`: no module in src/ over 500 lines. A module that
// grows past it is doing more than one job; split it by concern rather than raising the limit.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const LIMIT = 500;
const KINDS = /\.(ts|js|sql|lua|css)$/;
const root = path.join(__dirname, '..', 'src');

function* files(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else if (KINDS.test(entry.name)) yield full;
  }
}

const over = [];
for (const file of files(root)) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > LIMIT) over.push(`${path.relative(process.cwd(), file)}: ${lines} lines`);
}
if (over.length > 0) {
  console.error(`Modules over ${LIMIT} lines (split them by concern):\n  ${over.join('\n  ')}`);
  process.exit(1);
}
