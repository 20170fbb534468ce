#!/usr/bin/env node
// The `salvo` command: source maps on, then the compiled CLI. When the command is done the
// process ends even if user code (a custom reporter that hung past its deadline) left a timer
// or socket behind: normally the event loop drains at once; the unref'd timer is the backstop.
process.setSourceMapsEnabled(true);
const { main } = await import('../dist/src/cli/main.js');
const code = await main(process.argv.slice(2));
process.exitCode = code;
setTimeout(() => process.exit(code), 1000).unref();
