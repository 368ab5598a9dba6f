#!/usr/bin/env node
// The `berth` command. Run `npm run build` first: this loads the compiled CLI.
await import('../dist/cli/src/main.js');
