#!/usr/bin/env node
// Tiny launcher: all logic, including the single exit point, lives in dist/src/cli/main.js.
import('../dist/src/cli/main.js').then((m) => m.main(process.argv));
