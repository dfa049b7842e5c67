#!/usr/bin/env node
// The `tally` command. Node >= 22.18 runs the TypeScript source directly (type stripping). An
// older Node (the machine's Node 20, say) cannot even load a .ts file, so this file imports no
// TypeScript until it knows the Node is new enough; otherwise it runs itself again on the Node
// that `make run` installs in .tools/, with the same arguments, stdio and exit code.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const nodeMin = [22, 18];
const [major, minor] = process.versions.node.split('.').map(Number);

if (major > nodeMin[0] || (major === nodeMin[0] && minor >= nodeMin[1])) {
  // Exit explicitly: a Redis client that is still trying to reconnect must not keep us alive.
  const { run } = await import('../src/cli/index.ts');
  process.exit(await run(process.argv));
} else {
  const toolsNode = fileURLToPath(new URL('../.tools/node_modules/.bin/node', import.meta.url));
  if (!existsSync(toolsNode)) {
    process.stderr.write(`tally: needs Node >= ${nodeMin.join('.')} (this is ${process.version}); install it, or run \`make run\` once, which installs one in .tools/\n`);
    process.exit(1);
  }
  const child = spawn(toolsNode, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches the child from the terminal too: wait for its clean stop. Forward the rest.
  process.on('SIGINT', () => {});
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.once('error', (error) => {
    process.stderr.write(`tally: cannot start ${toolsNode}: ${error.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
}
