import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Script } from 'node:vm';
import { type Block, codeBlocks, REPO } from './helpers/markdown';

// The code examples users copy (TypeScript/JavaScript blocks of the package READMEs, the
// example's README and the guides in docs/) must at least import what the packages export, and a
// CommonJS example must be valid CommonJS: `await` at its top level is a SyntaxError there (Node
// then guesses ESM and `require` is undefined), which is how a snippet such as
// `const { shutdown } = require(…); await shutdown();` breaks when saved as `app.js`.

/** Every markdown file with examples for users, relative to the repository root. */
function exampleDocs(): string[] {
  const md = (dir: string) =>
    readdirSync(join(REPO, dir))
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(dir, f));
  const readmes = (dir: string) =>
    readdirSync(join(REPO, dir), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(dir, d.name, 'README.md'))
      .filter((f) => existsSync(join(REPO, f)));
  return ['README.md', ...md('docs'), ...readmes('packages'), ...readmes('examples')];
}

const CODE_LANGS = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs', 'cjs']);

type Snippet = Block & { doc: string };

const snippets: Snippet[] = exampleDocs().flatMap((doc) =>
  codeBlocks(readFileSync(join(REPO, doc), 'utf8'))
    .filter((b) => CODE_LANGS.has(b.lang))
    .map((b) => ({ ...b, doc })),
);

/** Names exported by `packages/<name>/src/index.ts` (values and types; no `export *` there). */
function exportsOf(pkg: string): Set<string> | undefined {
  let index: string;
  try {
    index = readFileSync(join(REPO, 'packages', pkg, 'src', 'index.ts'), 'utf8');
  } catch {
    return undefined;
  }
  const names = new Set<string>();
  for (const m of index.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g))
    for (const part of m[1]!.split(','))
      names.add(
        part
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)
          .pop()!,
      );
  for (const m of index.matchAll(/export\s+(?:async\s+)?(?:function|const|class|type|interface)\s+(\w+)/g))
    names.add(m[1]!);
  names.delete('');
  return names;
}

/** `[package, names]` of each `import { … } from '@mem0-stack/x'` and `const { … } = require('@mem0-stack/x')`. */
function importsOf(code: string): Array<{ pkg: string; names: string[] }> {
  const out: Array<{ pkg: string; names: string[] }> = [];
  const clean = (list: string) =>
    list
      .split(',')
      .map((p) =>
        p
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+|\s*:\s*/)[0]!
          .trim(),
      )
      .filter(Boolean);
  for (const m of code.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+['"]@mem0-stack\/([\w-]+)['"]/g))
    out.push({ pkg: m[2]!, names: clean(m[1]!) });
  for (const m of code.matchAll(/\{([^}]*)\}\s*=\s*require\(\s*['"]@mem0-stack\/([\w-]+)['"]\s*\)/g))
    out.push({ pkg: m[2]!, names: clean(m[1]!) });
  return out;
}

const at = (s: Snippet) => `${s.doc}:${s.line}`;

describe('code examples in the READMEs and guides', () => {
  it('finds the examples', () => {
    expect(snippets.length).toBeGreaterThan(20);
    expect(snippets.filter((s) => importsOf(s.text).length > 0).length).toBeGreaterThan(10);
  });

  it.each(snippets.filter((s) => importsOf(s.text).length > 0).map((s) => [at(s), s] as const))(
    '%s imports only what the packages export',
    (_at, s) => {
      const problems = importsOf(s.text).flatMap(({ pkg, names }) => {
        const exported = exportsOf(pkg);
        if (!exported) return [`@mem0-stack/${pkg} is not a package`];
        return names.filter((n) => !exported.has(n)).map((n) => `${n} is not exported by @mem0-stack/${pkg}`);
      });
      expect(problems).toEqual([]);
    },
  );

  // CommonJS snippets: JavaScript blocks that use require() and no import statement.
  const commonJs = snippets.filter(
    (s) =>
      /^(js|javascript|cjs)$/.test(s.lang) && /\brequire\(/.test(s.text) && !/^\s*import\s/m.test(s.text),
  );

  it.each(commonJs.map((s) => [at(s), s] as const))('%s is valid CommonJS (no top-level await)', (_at, s) => {
    // Node compiles a CommonJS module inside a function wrapper, where `await` is not allowed.
    const wrapped = `(function (exports, require, module, __filename, __dirname) {\n${s.text}\n})`;
    let error: string | undefined;
    try {
      new Script(wrapped, { filename: relative(REPO, join(REPO, s.doc)) });
    } catch (e) {
      error = (e as Error).message;
    }
    expect(error).toBeUndefined();
  });

  it('checks the mechanics on known-bad snippets', () => {
    expect(importsOf("import { classify, nope } from '@mem0-stack/errors';")).toEqual([
      { pkg: 'errors', names: ['classify', 'nope'] },
    ]);
    expect(importsOf("const { start, shutdown: stop } = require('@mem0-stack/otel');")).toEqual([
      { pkg: 'otel', names: ['start', 'shutdown'] },
    ]);
    expect(exportsOf('errors')?.has('classify')).toBe(true);
    expect(exportsOf('errors')?.has('ClassifiedError')).toBe(true);
    expect(exportsOf('errors')?.has('nope')).toBe(false);
    expect(
      () => new Script("(function (require) {\nconst { shutdown } = require('x');\nawait shutdown();\n})"),
    ).toThrow(/await/);
  });
});
