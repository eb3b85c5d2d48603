// Writes one benchmark's table into docs/benchmarks.md between its own markers, so
// each package's `npm run bench` refreshes its section without touching the others.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(root, 'docs', 'benchmarks.md');

/** One line describing the machine and date, for the top of each section. */
export function machineLine() {
  const cpu = cpus();
  return `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}; run ${new Date().toISOString().slice(0, 16)}Z.`;
}

/**
 * Replaces the section `id` (creating it if missing) with `markdown`.
 * @param {string} id e.g. "otel"
 * @param {string} title e.g. "@mem0-stack/otel — preload cost"
 * @param {string} markdown table and notes
 */
export function writeSection(id, title, markdown) {
  const start = `<!-- bench:${id}:start -->`;
  const end = `<!-- bench:${id}:end -->`;
  let doc = existsSync(file)
    ? readFileSync(file, 'utf8')
    : '# Benchmarks\n\nEvery figure here is written by a benchmark script (`npm run bench`), never by hand. Each compares against a baseline run side by side in the same script; ratios matter, absolute times depend on the machine.\n';
  const block = `${start}\n## ${title}\n\n${machineLine()}\n\n${markdown.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  doc =
    i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, doc);
  formatMarkdown(file);
}

/**
 * Formats a generated Markdown file the way `npm run lint` expects (Biome pads tables), so
 * a benchmark run never leaves the tree failing lint. Best effort: a missing Biome is ignored.
 * @param {string} path
 */
export function formatMarkdown(path) {
  spawnSync(
    process.execPath,
    [join(root, 'node_modules', '@biomejs', 'biome', 'bin', 'biome'), 'format', '--write', path],
    {
      stdio: 'ignore',
    },
  );
}
