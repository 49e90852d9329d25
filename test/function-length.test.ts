import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './helpers/bmo.js';

const MAX_LINES = 80;
const FOLDERS = ['src', 'projections', 'events'];

/**
 * Functions over the limit that are known and being split, each with where it is going: the list
 * may only shrink (a function split off it fails the test until its line goes too).
 */
const KNOWN: Record<string, string> = {};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The name a reader would look for: the function's own, or the variable, property or call it is given to. */
function nameOf(node: ts.Node): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name && ts.isIdentifier(named.name)) return named.name.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText();
  if (ts.isCallExpression(parent)) return `(callback to ${parent.expression.getText().slice(0, 40)})`;
  return '(anonymous)';
}

/** `file:name lines` for every function in `FOLDERS` longer than `MAX_LINES` lines. */
function longFunctions(): Map<string, number> {
  const found = new Map<string, number>();
  for (const file of FOLDERS.flatMap((folder) => sourceFiles(join(ROOT, folder)))) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node) => {
      if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body) {
        const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        const lines = end - start + 1;
        if (lines > MAX_LINES) found.set(`${relative(ROOT, file)}:${nameOf(node)}`, lines);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

test(`no function in ${FOLDERS.join('/, ')}/ is over ${MAX_LINES} lines`, () => {
  const found = longFunctions();
  const offenders = [...found].filter(([key]) => !(key in KNOWN)).map(([key, lines]) => `${key} (${lines} lines)`);
  assert.equal(offenders, [], `split these into named pieces:\n  ${offenders.join('\n  ')}`);
  const gone = Object.keys(KNOWN).filter((key) => !found.has(key));
  assert.equal(gone, [], `no longer over ${MAX_LINES} lines: take them off KNOWN in test/function-length.test.ts`);
});

test.run();
