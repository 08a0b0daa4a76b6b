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
// Node ends a process whose top-level await can never settle with exit 13 and no word: say why instead.
let finished = false;
process.on('exit', (exitCode) => {
  if (finished || exitCode === 0) return;
  const why =
    exitCode === 13
      ? 'it was waiting on a promise that nothing settles (a top-level await in the pipeline file?)'
      : 'the command did not finish';
  process.stderr.write(`stepwise: error: exited with code ${exitCode} before the command finished: ${why}\n`);
});
const code = await cli.main(process.argv);
finished = true;
process.exitCode = code;
// Exit even if a library left a handle open (a socket, a timer); an unref'd timer does not itself hold the process.
setTimeout(() => process.exit(code), 2_000).unref();
