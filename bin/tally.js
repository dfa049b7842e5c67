#!/usr/bin/env node
// The `tally` command. Node >= 22.18 runs the TypeScript source directly (type stripping).
// Exit explicitly: a Redis client that is still trying to reconnect must not keep us alive.
import { run } from '../src/cli/index.ts';

process.exit(await run(process.argv));
