// The README's configuration section names every environment variable Tally reads anywhere:
// src/config.ts (the one reader of the product's variables), the scripts and compose file
// around it, and the tests and benchmarks. A variable added anywhere without a README line fails.
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configVariables } from '../src/config.ts';

const root = fileURLToPath(new URL('../', import.meta.url));

// Not configuration: the system's own variables, and the private handshake between a test and
// the child script it starts (set by the test itself, never by a user).
const notConfiguration = new Set(['PATH', 'HOME', 'USER', 'NODE_ENV', 'SCHEDULER_MODULE', 'PREFIX', 'CHANNEL', 'IDS', 'BENCH_LEDGER_DIR']);

function filesUnder(dir: string, extensions: RegExp): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return name === 'node_modules' ? [] : filesUnder(path, extensions);
    return extensions.test(name) ? [path] : [];
  });
}

function variablesRead(): Map<string, string> {
  const found = new Map<string, string>();
  const note = (name: string, file: string) => { if (!found.has(name)) found.set(name, file); };
  const code = ['src', 'migrations', 'bin', 'test', 'bench', 'testkit'].flatMap((dir) => {
    try { return filesUnder(dir, /\.(ts|js)$/); } catch { return []; }
  });
  for (const file of code) {
    for (const match of readFileSync(join(root, file), 'utf8').matchAll(/\benv(?:\.|\[['"])([A-Z][A-Z0-9_]+)/g)) note(match[1]!, file);
  }
  for (const file of [...filesUnder('scripts', /\.sh$/), 'Makefile', 'docker-compose.yml']) {
    for (const match of readFileSync(join(root, file), 'utf8').matchAll(/\$\{([A-Z][A-Z0-9_]+)[:}-]/g)) note(match[1]!, file);
  }
  for (const name of configVariables) note(name, 'src/config.ts');
  return found;
}

describe('README configuration section', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration'), readme.indexOf('\n## ', readme.indexOf('\n## Configuration') + 1));

  it('names every environment variable read by the code, scripts, compose file, tests and benchmarks', () => {
    const read = variablesRead();
    // The scan itself must see what is known to exist, or it could pass by finding nothing.
    expect([...read.keys()]).to.include.members(['REDIS_URL', 'JWT_SECRET', 'MIRROR_TIMEOUT_MS', 'REDIS_APPENDFSYNC', 'FAULTS_QUICK', 'BENCH_QUICK']);
    const missing = [...read].filter(([name]) => !notConfiguration.has(name) && !section.includes(`\`${name}\``)).map(([name, file]) => `${name} (${file})`);
    expect(missing, 'variables the README configuration section does not name').to.deep.equal([]);
  });
});
