// The product version, reported everywhere one is shown: GET /openapi.json (info.version),
// GET /healthz, `tally --version`. It is package.json's "version", which is kept equal to the
// ledger library's LIBRARY_VERSION (redis-functions/ledger/_lib.lua, answered by ledger_version);
// test/version.test.ts fails when the two disagree.
import { readFileSync } from 'node:fs';

const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
if (typeof packageJson.version !== 'string') throw new Error('package.json has no version string');

export const tallyVersion: string = packageJson.version;
