import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices, npmScripts } from './facts';
import { REPO } from './markdown';

/**
 * Commands of the docs that cannot run in docs/test, and why. A command matching none of these
 * is run; one matching a rule is not run, but what it names (files, compose services, npm
 * scripts and workspaces, CLI options) is checked to exist. Every rule must still match a
 * command, so the list cannot outlive the docs.
 */
export const ALLOW_LIST: Array<{ pattern: RegExp; reason: string }> = [
  {
    pattern: /^docker compose /,
    reason:
      'needs a Docker engine (there is none on the CI machine); test/e2e/collectorConfig.test.ts validates the compose file itself',
  },
  { pattern: /^kubectl /, reason: 'needs a Kubernetes cluster' },
  {
    pattern: /^bash collector\/build\.sh$/,
    reason:
      'builds the collector with Go (minutes on a cold cache) and replaces the binary other suites are using; .ci/run runs it before the tests',
  },
  {
    pattern: /^npx tsc -b /,
    reason:
      'compiles a workspace; the test runs the dist/ that `npm test` has just built and must not rebuild a checkout other jobs share',
  },
  {
    pattern: /^npm run demo$/,
    reason:
      'builds every workspace with turbo and drives load for 15 s; examples/memory-service/test/demo.test.ts covers its failure modes',
  },
  {
    pattern: /^npm run bench( |$)/,
    reason:
      'benchmarks take minutes and rewrite docs/benchmarks.md; the lead runs them on a quiet machine (`npm run bench`)',
  },
  {
    pattern: /^createdb /,
    reason: 'creates a database on the shared PostgreSQL server; the test uses its own (mem0_docs_test)',
  },
  {
    pattern: /--loki http:\/\/localhost:3100/,
    reason:
      'needs Loki (no Loki binary or image here); packages/log-analysis/test/readme.test.ts runs the same --loki options against a Loki stand-in',
  },
];

export function allowRule(command: string): { pattern: RegExp; reason: string } | undefined {
  return ALLOW_LIST.find((r) => r.pattern.test(command));
}

/** Splits a command line into words, honouring single and double quotes (enough for the docs). */
export function words(command: string): string[] {
  const out: string[] = [];
  for (const m of command.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

const helpCache = new Map<string, string>();

/** `mem0-logs <command> --help` of the built CLI. */
export function mem0LogsHelp(command: string): string {
  let help = helpCache.get(command);
  if (help === undefined) {
    help = execFileSync(
      process.execPath,
      [join(REPO, 'packages', 'log-analysis', 'dist', 'cli.js'), command, '--help'],
      {
        encoding: 'utf8',
      },
    );
    helpCache.set(command, help);
  }
  return help;
}

/**
 * What an allow-listed command names that must exist. Returns the problems found (empty when
 * everything it refers to is there).
 */
export function referenceProblems(command: string): string[] {
  const problems: string[] = [];
  const w = words(command);
  for (const word of w) {
    if (
      /^(collector|examples|packages|docs|scripts|test)\/[\w./-]+$/.test(word) &&
      !existsSync(join(REPO, word))
    )
      problems.push(`${word} does not exist`);
  }
  if (w[0] === 'docker' && w[1] === 'compose') {
    const services = composeServices();
    const sub = w.findIndex((x, i) => i > 1 && !x.startsWith('-') && !/^-[fp]$/.test(w[i - 1] ?? ''));
    const subcommand = w[sub];
    if (
      !['up', 'ps', 'logs', 'restart', 'down', 'stop', 'start', 'config', 'pull', 'build'].includes(
        subcommand ?? '',
      )
    )
      problems.push(`unknown docker compose subcommand ${subcommand}`);
    const rest = w.slice(sub + 1).filter((x, i, a) => !x.startsWith('-') && !/^--tail$/.test(a[i - 1] ?? ''));
    for (const s of rest) if (!services.includes(s)) problems.push(`compose has no service ${s}`);
  }
  if (w[0] === 'kubectl') {
    // The Kubernetes objects are named after the compose services.
    for (const x of w) {
      const m = /^deployment\/(.+)$/.exec(x);
      if (m && !composeServices().includes(m[1]!)) problems.push(`no service named ${m[1]}`);
    }
  }
  if (w[0] === 'npm' && w[1] === 'run') {
    const scripts = npmScripts();
    const ws = w.indexOf('-w');
    const workspace = ws === -1 ? '' : (w[ws + 1] ?? '');
    const available = scripts.get(workspace);
    if (!available) problems.push(`no workspace ${workspace}`);
    else if (!available.includes(w[2] ?? ''))
      problems.push(`no npm script ${w[2]} in ${workspace || 'the root'}`);
  }
  if (w[0] === 'npx' && w[1] === 'tsc' && w[2] === '-b') {
    if (!existsSync(join(REPO, w[3] ?? '', 'tsconfig.json'))) problems.push(`${w[3]} has no tsconfig.json`);
  }
  if (w[0] === 'createdb') {
    const config = readFileSync(join(REPO, 'examples', 'memory-service', 'src', 'config.ts'), 'utf8');
    const db = w[w.length - 1]!;
    if (!config.includes(`/${db}'`)) problems.push(`${db} is not the example's default database`);
  }
  const logs = w.indexOf('mem0-logs');
  if (logs !== -1) {
    const sub = w[logs + 1]!;
    const help = mem0LogsHelp(sub);
    for (const flag of w.slice(logs + 2).filter((x) => x.startsWith('--')))
      if (!help.includes(flag)) problems.push(`mem0-logs ${sub} has no option ${flag}`);
  }
  return problems;
}
