// Dependencies in src/ point one way: from the composition root and the CLI, through the HTTP
// and Socket.IO adapters, to airdrops, then the domain (ledger, snapshots, auth, migrations),
// down to the shared foundations. This test reads every import of every file under src/ and fails on an
// import cycle, an upward import, or an import between two groups of the same layer.
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

/** The allowed direction, in one place: a file may import its own group or any lower layer. */
const layers: string[][] = [
  ['src/errors.ts', 'src/identifiers.ts', 'src/lines.ts', 'src/logger.ts', 'src/time.ts', 'src/version.ts'],
  ['src/config.ts'],
  ['src/connections.ts'],
  ['src/auth/', 'src/ledger/', 'src/migrate/', 'src/snapshots/'],
  // Airdrops join the two halves: a snapshot's holders paid in a ledger token.
  ['src/airdrops/'],
  ['src/http/', 'src/realtime/'],
  ['src/app.ts', 'src/lifecycle.ts'],
  ['src/cli/', 'src/main.ts'],
];

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    return statSync(join(root, path)).isDirectory() ? filesUnder(path) : name.endsWith('.ts') ? [path] : [];
  });
}

const importPattern = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(importPattern)].map((m) => normalize(join(dirname(file), m[1] ?? m[2]!)).replaceAll('\\', '/'));
}

function groupOf(file: string): { layer: number; group: string } {
  for (const [layer, groups] of layers.entries()) {
    for (const group of groups) if (group.endsWith('/') ? file.startsWith(group) : file === group) return { layer, group };
  }
  throw new Error(`${file} is in no layer: add it to the list above`);
}

function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'visiting') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'visiting');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

describe('src/ architecture', () => {
  const files = filesUnder('src');
  const graph = new Map(files.map((file) => [file, importsOf(file).filter((target) => target.startsWith('src/'))]));

  it('reads the imports of every file (the scan sees what is known to be there)', () => {
    expect(files.length).to.be.at.least(50);
    expect(graph.get('src/main.ts')).to.include.members(['src/app.ts', 'src/config.ts', 'src/snapshots/service.ts']);
    expect(graph.get('src/cli/index.ts')).to.include('src/cli/ledger.ts');
    for (const [file, targets] of graph) for (const target of targets) expect(files, `${file} imports ${target}`).to.include(target);
  });

  it('has no import cycle', () => {
    expect(findCycle(graph)?.join(' -> ') ?? 'none').to.equal('none');
    // The check itself finds a cycle when there is one.
    expect(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).to.deep.equal(['a', 'b', 'c', 'a']);
  });

  it('imports only down the layers, or within a group', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = groupOf(file);
      for (const target of targets) {
        const to = groupOf(target);
        if (to.group === from.group || to.layer < from.layer) continue;
        wrong.push(`${file} -> ${target}`);
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('keeps the domain free of the adapters, the CLI and the composition root', () => {
    const outer = ['src/http/', 'src/realtime/', 'src/cli/', 'src/main.ts', 'src/app.ts'];
    const domain = [...graph].filter(([file]) => file.startsWith('src/ledger/') || file.startsWith('src/snapshots/') || file.startsWith('src/airdrops/'));
    expect(domain.length).to.be.at.least(20);
    const leaks = domain.flatMap(([file, targets]) => targets.filter((t) => outer.some((o) => t.startsWith(o))).map((t) => `${file} -> ${relative('src', t)}`));
    expect(leaks).to.deep.equal([]);
  });
});
