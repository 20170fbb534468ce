#!/usr/bin/env node
// The `salvo` command: source maps on, then the compiled CLI.
process.setSourceMapsEnabled(true);
const { main } = await import('../dist/src/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
