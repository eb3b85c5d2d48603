#!/usr/bin/env node
// Bundles the preload (our code + the OpenTelemetry packages it loads) into dist/preload.js.
// Why: resolving and compiling ~170 small files is most of the preload's startup cost; one
// file loads in a fraction of that. Lazily used parts (instrumentations, metrics/logs SDKs,
// OTLP serializers) are in the same file but only evaluated on first use.
// Run by `npm run build` after `tsc -b`; dist/register.js falls back to the unbundled files
// whenever dist/preload.js is missing or older than the last tsc build.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

// Modules that must stay shared with the rest of the application (one instance):
// import-in-the-middle talks to its loader thread through module state; @mem0-stack/logging
// recognises the winston transport class. Optional upstream packages are loaded by path.
const external = ['import-in-the-middle', '@opentelemetry/winston-transport'];

/** The SDK providers only use defaultResource(); the package index would also load its
 *  detectors (and node:crypto with them). */
const resourcesImpl = {
  name: 'resources-impl',
  setup(b) {
    b.onResolve({ filter: /^@opentelemetry\/resources$/ }, (args) => {
      if (!/[\\/]@opentelemetry[\\/]sdk-(trace|metrics|logs)[\\/]/.test(args.importer)) return undefined;
      return b
        .resolve('@opentelemetry/resources/build/src/ResourceImpl', {
          resolveDir: args.resolveDir,
          kind: args.kind,
        })
        .then((r) => ({ path: r.path }));
    });
  },
};

/**
 * @opentelemetry/semantic-conventions is one ~200 KiB module defining thousands of constants,
 * evaluated at startup by core/sdk-trace/resources. Replace it with a module that defines only
 * the constants the bundled packages use. Every requirer is checked to use the simple
 * `semantic_conventions_1.NAME` form; anything else fails the build rather than ship an
 * undefined attribute name.
 */
const semconvSubset = {
  name: 'semconv-subset',
  setup(b) {
    const req = createRequire(join(pkgDir, 'package.json'));
    b.onResolve({ filter: /^@opentelemetry\/semantic-conventions$/ }, () => ({
      path: 'semconv-subset',
      namespace: 'semconv',
    }));
    b.onLoad({ filter: /.*/, namespace: 'semconv' }, () => {
      const full = req('@opentelemetry/semantic-conventions');
      const used = new Set();
      const root = dirname(dirname(dirname(req.resolve('@opentelemetry/semantic-conventions'))));
      const decl = /const (\w+) = require\("@opentelemetry\/semantic-conventions"\);/g;
      const walk = (dir) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          const p = join(dir, e.name);
          if (e.isDirectory()) {
            if (e.name !== 'node_modules' && e.name !== 'esm' && e.name !== 'esnext') walk(p);
          } else if (e.name.endsWith('.js')) {
            const src = readFileSync(p, 'utf8');
            if (!src.includes('@opentelemetry/semantic-conventions"')) continue;
            for (const m of src.matchAll(decl)) {
              const v = m[1];
              const all = src.match(new RegExp(`\\b${v}\\b`, 'g')).length;
              const props = [...src.matchAll(new RegExp(`\\b${v}\\.([A-Za-z_$][\\w$]*)`, 'g'))];
              if (all !== props.length + 1)
                throw new Error(`semconv-subset: ${p} uses ${v} in an unsupported way`);
              for (const pm of props) used.add(pm[1]);
            }
          }
        }
      };
      walk(root);
      const lines = [];
      for (const name of [...used].sort()) {
        if (!(name in full))
          throw new Error(`semconv-subset: ${name} is not exported by semantic-conventions`);
        lines.push(`exports.${name} = ${JSON.stringify(full[name])};`);
      }
      return { contents: lines.join('\n'), loader: 'js' };
    });
  },
};

const started = Date.now();
await build({
  // From tsc's CommonJS output (not src/): the same code the tests load unbundled, and
  // plain require() calls instead of ESM-interop getters on every API access.
  entryPoints: [join(pkgDir, 'dist/internal/bundleEntry.js')],
  outfile: join(pkgDir, 'dist/preload.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external,
  // CommonJS builds only: esbuild would otherwise pick the packages' ESM builds ("module"
  // condition/field) and every `api.trace` read from CommonJS code would go through two
  // getter layers of ESM interop on the request path.
  conditions: ['node', 'require'],
  mainFields: ['main'],
  plugins: [resourcesImpl, semconvSubset],
  // Whitespace/syntax minification only: identifiers stay readable in stack traces.
  // MEM0_OTEL_BUNDLE_MINIFY=0 keeps the layout too (profiling).
  minifyWhitespace: process.env.MEM0_OTEL_BUNDLE_MINIFY !== '0',
  minifySyntax: process.env.MEM0_OTEL_BUNDLE_MINIFY !== '0',
  keepNames: false,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
const size = statSync(join(pkgDir, 'dist/preload.js')).size;
process.stdout.write(
  `bundled dist/preload.js (${Math.round(size / 1024)} KiB) in ${Date.now() - started} ms\n`,
);
