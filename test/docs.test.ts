// The repository stands on its own: its contracts are documented in docs/, and nothing outside
// docs/ points a reader at files the repository does not hold (the old shared specification).
// Fails when a registered ledger function or a catalog error code is missing from docs/, when
// docs/errors.md and the README's Error codes table differ, or when a docs/ link is dangling.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCatalog } from '../src/errors.ts';
import { repoRoot } from '../testkit/processes.ts';

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const docFiles = readdirSync(join(repoRoot, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`);
const allDocs = docFiles.map(read).join('\n');
// Built from parts so that this file does not match itself.
const outsideCitation = new RegExp(['\\.\\./' + 'shared', 'SPEC' + '\\.md', 'SPEC' + ' §'].join('|'));

function errorTable(markdown: string): string[] {
  return markdown.split('\n').filter((line) => /^\| `[A-Z_]+` \|/.test(line));
}

describe('docs', () => {
  it('no tracked file outside docs/ cites the old shared specification or a folder beside the repository', () => {
    const tracked = execFileSync('git', ['ls-files'], { cwd: repoRoot, encoding: 'utf8' }).split('\n').filter(Boolean);
    const citing = tracked
      // .ci/ is the CI system's entry point, kept as that system wrote it.
      .filter((path) => !path.startsWith('docs/') && !path.startsWith('.ci/') && existsSync(join(repoRoot, path)))
      .flatMap((path) => read(path).split('\n').flatMap((line, i) => (outsideCitation.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : [])));
    expect(citing).to.deep.equal([]);
  });

  it('docs/ledger-functions.md names every function the Lua library registers', () => {
    const luaDir = join(repoRoot, 'redis-functions/ledger');
    const registered = readdirSync(luaDir).filter((name) => name.endsWith('.lua'))
      .flatMap((name) => [...readFileSync(join(luaDir, name), 'utf8').matchAll(/^register\('([a-z_]+)'/gm)].map((m) => m[1]!));
    expect(registered.length).to.be.greaterThan(8);
    const functionsDoc = read('docs/ledger-functions.md');
    expect(registered.filter((name) => !functionsDoc.includes(`\`${name}\``))).to.deep.equal([]);
  });

  it('docs/ names every code of the error catalog, in a table equal to the README one', () => {
    const codes = Object.keys(errorCatalog);
    expect(codes.filter((code) => !allDocs.includes(`\`${code}\``))).to.deep.equal([]);
    const docsTable = errorTable(read('docs/errors.md'));
    expect(docsTable).to.have.length(codes.length);
    const readmeSection = /\n## Error codes\n([\s\S]*?)\n## /.exec(read('README.md'))?.[1] ?? '';
    expect(docsTable).to.deep.equal(errorTable(readmeSection));
  });

  it('every link to docs/ from the README and between docs/ files exists', () => {
    const links = [
      ...[...read('README.md').matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]!),
      ...docFiles.flatMap((file) => [...read(file).matchAll(/\]\(([^)#:]+\.md)/g)].map((m) => `docs/${m[1]!}`)),
    ];
    expect(links.length).to.be.greaterThan(5);
    expect(links.filter((path) => !existsSync(join(repoRoot, path)))).to.deep.equal([]);
  });
});
