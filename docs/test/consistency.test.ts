import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  alertRules,
  dashboards,
  envReadsInCode,
  envReadsInConfig,
  packageDependencies,
} from './helpers/facts';
import { codeBlocks, headings, OWNED_DOCS, prose, REPO, readDoc, section } from './helpers/markdown';

// The names the operations docs use must be the names the code and configuration use: every
// variable, alert, dashboard, panel and package dependency is checked against its source.

// Read from the environment by tests or the OS, not settings of ours.
const NOT_SETTINGS = new Set(['PATH', 'HOME']);

const fromCode = envReadsInCode();
const fromConfig = envReadsInConfig();
const known = new Set([...fromCode.keys(), ...fromConfig.keys()].filter((n) => !NOT_SETTINGS.has(n)));

const deployment = readDoc('production-deployment.md');
const envSection = section(deployment, 'Environment reference');
/** Variables listed in the first column of the environment reference tables. */
const documented = new Set(
  envSection
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .flatMap((l) => [...(l.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!)),
);

describe('environment reference (production-deployment.md)', () => {
  it('reads the variables from code and configuration', () => {
    // Guards against the extraction silently finding nothing after a refactor.
    expect(fromCode.size).toBeGreaterThan(60);
    expect(fromConfig.size).toBeGreaterThan(25);
    for (const name of ['OTEL_EXPORTER_OTLP_LOGS_PROTOCOL', 'OTEL_BLRP_MAX_QUEUE_SIZE', 'MEM0_LOG_LEVEL'])
      expect(fromCode.has(name)).toBe(true);
  });

  it('lists every variable the packages, the example and the collector read', () => {
    const missing = [...known]
      .filter((n) => !documented.has(n))
      .map(
        (n) =>
          `${n} (read in ${[...new Set([...(fromCode.get(n) ?? []), ...(fromConfig.get(n) ?? [])])].join(
            ', ',
          )})`,
      );
    expect(missing).toEqual([]);
  });

  it('lists no variable that nothing reads', () => {
    expect([...documented].filter((n) => !known.has(n))).toEqual([]);
  });

  it.each(OWNED_DOCS)('%s names only variables that exist', (doc) => {
    const text = readDoc(doc);
    const named = new Set(
      [...text.matchAll(/\b((?:OTEL|MEM0|OTELCOL|TAIL_SAMPLING|GATEWAY)_[A-Z0-9_]*[A-Z0-9])\b/g)].map(
        (m) => m[1]!,
      ),
    );
    expect([...named].filter((n) => !known.has(n))).toEqual([]);
  });
});

const rules = alertRules();

describe('alerts and playbooks (operational-runbook.md)', () => {
  const runbook = readDoc('operational-runbook.md');
  const playbooks = headings(section(runbook, 'On-call playbooks'))
    .filter((h) => h.level === 3)
    .map((h) => h.text);

  it('finds the alert rules', () => {
    expect(rules.filter((r) => r.source === 'prometheus').length).toBeGreaterThanOrEqual(8);
    expect(rules.filter((r) => r.source === 'loki').length).toBeGreaterThanOrEqual(3);
  });

  it('has one playbook per alert, and none for an alert that does not exist', () => {
    expect([...playbooks].sort()).toEqual(rules.map((r) => r.name).sort());
  });

  it.each(rules.map((r) => [r.name, r] as const))(
    'playbook %s has symptom, dashboard, query and fix',
    (name) => {
      const body = section(runbook, name);
      for (const part of ['**Fires when:**', '**Symptom:**', '**Dashboard:**', '**Query:**', '**Fix:**'])
        expect(body).toContain(part);
      expect(codeBlocks(body).length).toBeGreaterThan(0);
    },
  );

  it.each(OWNED_DOCS)('%s names only alerts that exist', (doc) => {
    const names = new Set(rules.map((r) => r.name));
    const mentioned = [
      ...readDoc(doc).matchAll(
        /\b((?:High|Low|Circuit|Telemetry|Collector|Unclassified|Server)[A-Za-z0-9]*(?:Open|Ratio|Rate|P95|Dropped|Data|Errors|Burst))\b/g,
      ),
    ].map((m) => m[1]!);
    expect(mentioned.filter((m) => !names.has(m))).toEqual([]);
  });
});

describe('dashboards and panels', () => {
  const boards = dashboards();
  const titles = new Set(boards.map((d) => d.title));
  const panels = new Set(boards.flatMap((d) => d.panels));

  it('reads the generated dashboards', () => {
    expect(boards.length).toBeGreaterThanOrEqual(6);
    expect(panels.size).toBeGreaterThan(20);
  });

  it.each(OWNED_DOCS)('%s names only dashboards and panels Grafana has', (doc) => {
    const text = prose(readDoc(doc));
    const boardNames = [...text.matchAll(/\*\*(mem0 \/ [^*]+)\*\*/g)].map((m) => m[1]!);
    // Panel titles are written in curly quotes, and curly quotes are used for nothing else.
    const panelNames = [...text.matchAll(/“([^”]+)”/g)].map((m) => m[1]!);
    expect(boardNames.filter((b) => !titles.has(b))).toEqual([]);
    expect(panelNames.filter((p) => !panels.has(p))).toEqual([]);
  });
});

describe('packages and their dependencies (architecture.md)', () => {
  const table = section(readDoc('architecture.md'), 'The packages')
    .split('\n')
    .filter((l) => /^\| \[`@mem0-stack\//.test(l));

  it('has one row per published package', () => {
    expect(table.map((l) => /`(@mem0-stack\/[\w-]+)`/.exec(l)![1]).sort()).toEqual(
      [...packageDependencies().keys()].sort(),
    );
  });

  it.each(table.map((l) => [/`(@mem0-stack\/[\w-]+)`/.exec(l)![1]!, l] as const))(
    '%s depends on what its package.json says',
    (name, row) => {
      const cell = row.split('|').slice(-2, -1)[0]!.trim();
      const stated = cell === 'none' ? [] : cell.split(/,\s*/).map((d) => `@mem0-stack/${d.trim()}`);
      expect(stated.sort()).toEqual(packageDependencies().get(name));
    },
  );
});

describe('LogQL in the docs', () => {
  // Structured-metadata fields and labels the Loki rules (validated by the collector's own
  // tests) already use; a LogQL query here must not invent others.
  const lokiRules = readFileSync(
    join(REPO, 'collector', 'loki', 'rules', 'fake', 'mem0-log-alerts.yaml'),
    'utf8',
  );
  const fields = new Set(
    [...lokiRules.matchAll(/\b([a-z_]+)\s*(?:=~|!=|>=|<=|=|>|<)\s*"?/g)].map((m) => m[1]!),
  );

  const queries = OWNED_DOCS.flatMap((doc) =>
    codeBlocks(readDoc(doc))
      .filter((b) => b.lang === 'logql')
      .map((b) => [`${doc}:${b.line}`, b.text] as const),
  );

  it('finds LogQL blocks', () => {
    expect(queries.length).toBeGreaterThanOrEqual(3);
  });

  it.each(queries)('%s uses only known labels and fields', (_at, query) => {
    const used = [...query.matchAll(/\b([a-z_]+)\s*(?:=~|!=|>=|<=|=|>|<)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((u) => !fields.has(u))).toEqual([]);
    expect(query.split('{').length).toBe(query.split('}').length);
  });
});
