#!/usr/bin/env node
// The `stepwise` CLI. The code lives in dist/ (built by `npm ci` / `npm run build`, i.e. `tsc -b`).
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist')) {
    process.stderr.write('stepwise: error: the CLI is not built; run `npm run build` (tsc -b) in the repository\n');
    process.exit(2);
  }
  throw error;
}
const code = await cli.main(process.argv);
process.exitCode = code;
// Exit even if a library left a handle open (a socket, a timer); an unref'd timer does not itself hold the process.
setTimeout(() => process.exit(code), 2_000).unref();
