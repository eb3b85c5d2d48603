// Static checks of everything in collector/: the collector configs validate with the real
// ocb-built binary, Prometheus config and rules pass promtool (check + unit tests), the
// dashboards JSON is what the code generates, Grafana provisioning links the right uids, and
// the docker-compose file is valid and mounts files that exist. (The stack itself cannot run
// here: there is no Docker engine. See collector/README.md.)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readConfig } from '@mem0-stack/otel';
import { COLLECTOR_CONFIG, REPO_ROOT, runCommand, validateCollectorConfig } from '@mem0-stack/testkit';
import { parse } from 'yaml';
import { dashboardJson } from '../../collector/grafana/src/dashboardJson';
import { buildDashboards } from '../../collector/grafana/src/dashboards';

const COLLECTOR = join(REPO_ROOT, 'collector');
const read = (p: string) => readFileSync(join(COLLECTOR, p), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML documents are checked field by field.
const yaml = (p: string): any => parse(read(p));

type Compose = {
  services: Record<
    string,
    {
      image?: string;
      volumes?: string[];
      environment?: Record<string, string>;
      ports?: string[];
      build?: { dockerfile: string };
    }
  >;
};

describe('collector build manifest', () => {
  it('pins every component to one collector release, the one build.sh installs ocb at', () => {
    const manifest = yaml('builder-config.yaml');
    const kinds = ['receivers', 'processors', 'connectors', 'exporters', 'extensions'];
    const versions = new Set<string>();
    for (const kind of kinds) {
      for (const c of manifest[kind]) versions.add(String(c.gomod).split(' ')[1] ?? '');
    }
    expect([...versions]).toEqual(['v0.161.0']);
    const providers = new Set(manifest.providers.map((p: { gomod: string }) => p.gomod.split(' ')[1]));
    expect([...providers]).toEqual(['v1.67.0']);
    expect(read('build.sh')).toMatch(/OCB_VERSION=v0\.161\.0\b/);
  });
});

describe('collector configs validate with the ocb-built binary', () => {
  it('otelcol-config.yaml with its defaults', async () => {
    const r = await validateCollectorConfig(COLLECTOR_CONFIG);
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.code).toBe(0);
  });

  it('otelcol-config.yaml with the docker-compose environment', async () => {
    const compose = yaml('docker-compose.yaml') as Compose;
    const env = compose.services['otel-collector']?.environment ?? {};
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['TEMPO_ENDPOINT', 'LOKI_ENDPOINT']));
    const r = await validateCollectorConfig(COLLECTOR_CONFIG, env);
    expect(r.code).toBe(0);
  });

  it('otelcol-config.yaml with the span metrics pushed by remote write too', async () => {
    const r = await validateCollectorConfig(COLLECTOR_CONFIG, {
      OTELCOL_SPANMETRICS_EXPORTERS: '[prometheus, prometheus_remote_write]',
    });
    expect(r.code).toBe(0);
  });

  it.each(['gateway/agent.yaml', 'gateway/gateway.yaml'])('%s', async (file) => {
    const r = await validateCollectorConfig(join(COLLECTOR, file));
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.code).toBe(0);
  });

  it('an invalid value is refused (validate is not a no-op)', async () => {
    const r = await validateCollectorConfig(COLLECTOR_CONFIG, { OTELCOL_MEMORY_LIMIT_MIB: 'lots' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/limit_mib/);
  });

  it('takes every endpoint from the environment', () => {
    for (const file of ['otelcol-config.yaml', 'gateway/agent.yaml', 'gateway/gateway.yaml']) {
      const lines = read(file)
        .split('\n')
        .filter((l) => /^\s*(endpoint|hostname|directory):/.test(l));
      expect(lines.length).toBeGreaterThan(2);
      for (const l of lines) expect(`${file}: ${l}`).toMatch(/\$\{env:[A-Z_]+:-[^}]+\}/);
    }
  });

  it('bounds every queue and puts the memory limiter first in every OTLP pipeline', () => {
    const cfg = yaml('otelcol-config.yaml');
    for (const [name, p] of Object.entries<{ receivers: string[]; processors: string[] }>(
      cfg.service.pipelines,
    )) {
      if (p.receivers.includes('otlp')) expect([name, p.processors[0]]).toEqual([name, 'memory_limiter']);
    }
    for (const name of ['otlp_grpc/tempo', 'otlp_http/loki']) {
      expect(cfg.exporters[name].sending_queue.queue_size).toMatch(/\$\{env:OTELCOL_QUEUE_SIZE:-\d+\}/);
      expect(cfg.exporters[name].retry_on_failure.max_elapsed_time).toMatch(/\d+s/);
    }
    expect(cfg.exporters.prometheus_remote_write.remote_write_queue.queue_size).toMatch(/:-\d+\}/);
  });
});

describe('Prometheus config and alert rules (promtool)', () => {
  const promDir = join(COLLECTOR, 'prometheus');

  it('promtool check config (also checks the rule files it references)', async () => {
    const r = await runCommand('promtool', ['check', 'config', 'prometheus.yml'], { cwd: promDir });
    expect(r.stdout).toMatch(/SUCCESS: 1 rule files found/);
    expect(r.code).toBe(0);
  });

  it('promtool check rules', async () => {
    const files = readdirSync(join(promDir, 'rules')).map((f) => join('rules', f));
    const r = await runCommand('promtool', ['check', 'rules', ...files], { cwd: promDir });
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.code).toBe(0);
  });

  it('promtool test rules: every alert fires on bad data and stays quiet on good data', async () => {
    const r = await runCommand('promtool', ['test', 'rules', 'tests/mem0-alerts.test.yml'], { cwd: promDir });
    expect(`${r.stdout}${r.stderr}`).toMatch(/SUCCESS/);
    expect(r.code).toBe(0);
    // Every alert of the rule file has at least one unit test.
    const rules = yaml('prometheus/rules/mem0-alerts.yml');
    const alerts: string[] = rules.groups.flatMap((g: { rules: Array<{ alert?: string }> }) =>
      g.rules.filter((x) => x.alert).map((x) => x.alert),
    );
    const tested = read('prometheus/tests/mem0-alerts.test.yml');
    for (const a of alerts) expect(`${a}: ${tested.includes(`alertname: ${a}`)}`).toBe(`${a}: true`);
    expect(alerts).toEqual(
      expect.arrayContaining([
        'HighRequestLatencyP95',
        'HighServerErrorRatio',
        'LowCacheHitRatio',
        'CircuitBreakerOpen',
        'LowRecoveryRate',
        'TelemetryDropped',
        'HighErrorLogRate',
      ]),
    );
  });
});

describe('Grafana dashboards and provisioning', () => {
  it('the committed dashboards JSON is what collector/grafana/src generates', () => {
    const built = buildDashboards();
    const files = readdirSync(join(COLLECTOR, 'grafana', 'dashboards')).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(Object.keys(built).sort());
    for (const [file, dashboard] of Object.entries(built)) {
      // If this fails: npm run dashboards -w @mem0-stack/e2e
      expect(read(`grafana/dashboards/${file}`)).toBe(dashboardJson(dashboard));
    }
  });

  it('covers RED, errors, resilience, cache, logs and telemetry health, with unique uids', () => {
    const built = Object.values(buildDashboards());
    const uids = built.map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(uids).toEqual([
      'mem0-service-red',
      'mem0-errors',
      'mem0-resilience',
      'mem0-cache',
      'mem0-logs',
      'mem0-telemetry-health',
    ]);
  });

  it("every $service variable lists the services' names (not target_info: remote write makes service.name its job)", () => {
    for (const d of Object.values(buildDashboards())) {
      for (const v of d.templating?.list ?? []) {
        if (v.name !== 'service') continue;
        const def = String((v as { definition?: string }).definition);
        expect(`${d.uid}: ${def}`).toMatch(/label_values\((\w+), service_name\)/);
        expect(`${d.uid}: ${def}`).not.toMatch(/target_info/);
      }
    }
  });

  it('every panel queries a provisioned datasource uid', () => {
    const ds = yaml('grafana/provisioning/datasources/datasources.yaml');
    const uids = new Set(ds.datasources.map((d: { uid: string }) => d.uid));
    for (const d of Object.values(buildDashboards())) {
      for (const p of d.panels ?? []) {
        if (p.type === 'row') continue;
        const panel = p as {
          datasource?: { uid?: string };
          targets?: Array<{ datasource?: { uid?: string } }>;
        };
        expect(uids.has(panel.datasource?.uid)).toBe(true);
        for (const t of panel.targets ?? []) expect(uids.has(t.datasource?.uid)).toBe(true);
      }
    }
  });

  it("$__rate_interval spans at least two of the services' metric exports (remote write, no scrape)", () => {
    // The services' own metrics reach Prometheus once per OTEL_METRIC_EXPORT_INTERVAL (60 s by
    // default), not every scrape_interval. Grafana's $__rate_interval is
    // max($__interval + scrape, 4 × scrape) with scrape = the datasource's timeInterval (15 s when
    // unset): a 60 s window holds one remote-written sample, so rate()/increase() return nothing.
    const ds = yaml('grafana/provisioning/datasources/datasources.yaml');
    const promDs = ds.datasources.find((d: { uid: string }) => d.uid === 'prometheus');
    const toMs = (d: string) => {
      const m = /^(\d+)(ms|s|m)$/.exec(d);
      if (!m) throw new Error(`unparsed duration ${d}`);
      return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'];
    };
    const scrapeMs = toMs(promDs.jsonData.timeInterval ?? '15s');
    const interval = 5_000; // $__interval of a 1 h dashboard on a wide screen
    const rateIntervalMs = Math.max(interval + scrapeMs, 4 * scrapeMs);
    const exportMs = readConfig({}).config.metrics.exportIntervalMillis;
    expect(rateIntervalMs).toBeGreaterThanOrEqual(2 * exportMs);
  });

  it('links the datasources: exemplars → Tempo, trace → Loki logs by trace_id, Loki trace_id label → Tempo', () => {
    const ds = yaml('grafana/provisioning/datasources/datasources.yaml');
    const byUid = Object.fromEntries(ds.datasources.map((d: { uid: string }) => [d.uid, d]));
    expect(byUid.prometheus.jsonData.exemplarTraceIdDestinations).toEqual([
      { name: 'trace_id', datasourceUid: 'tempo' },
    ]);
    const t2l = byUid.tempo.jsonData.tracesToLogsV2;
    expect(t2l.datasourceUid).toBe('loki');
    expect(t2l.query).toContain('trace_id="$${__trace.traceId}"');
    expect(t2l.tags).toEqual([{ key: 'service.name', value: 'service_name' }]);
    expect(byUid.tempo.jsonData.serviceMap.datasourceUid).toBe('prometheus');
    expect(byUid.loki.jsonData.derivedFields).toEqual([
      expect.objectContaining({ matcherType: 'label', matcherRegex: 'trace_id', datasourceUid: 'tempo' }),
    ]);
  });
});

describe('Loki and Tempo configs', () => {
  it('Loki accepts OTLP with structured metadata (tsdb, schema v13) and loads ruler rules for tenant "fake"', () => {
    const loki = yaml('loki/loki-config.yaml');
    expect(loki.auth_enabled).toBe(false);
    expect(loki.schema_config.configs[0]).toMatchObject({ store: 'tsdb', schema: 'v13' });
    expect(loki.limits_config.allow_structured_metadata).toBe(true);
    expect(loki.ruler.storage.local.directory).toBe('/etc/loki/rules');
    const rules = yaml('loki/rules/fake/mem0-log-alerts.yaml');
    const names = rules.groups[0].rules.map((r: { alert: string }) => r.alert);
    expect(names).toEqual(['HighErrorLogRatio', 'UnclassifiedErrors', 'ServerErrorBurst']);
    for (const r of rules.groups[0].rules) {
      // LogQL is not parsed here (no Loki binary); at least every selector is well-formed.
      expect(r.expr).toMatch(/\{service_name=~"\.\+"\}/);
      expect(r.expr.split('(').length).toBe(r.expr.split(')').length);
    }
  });

  it('Tempo receives OTLP/gRPC and remote-writes the service graph to Prometheus', () => {
    const tempo = yaml('tempo/tempo.yaml');
    expect(tempo.distributor.receivers.otlp.protocols.grpc.endpoint).toBe('0.0.0.0:4317');
    expect(tempo.metrics_generator.storage.remote_write[0].url).toBe('http://prometheus:9090/api/v1/write');
    expect(tempo.overrides.defaults.metrics_generator.processors).toEqual(['service-graphs']);
  });
});

describe('docker-compose.yaml', () => {
  const compose = yaml('docker-compose.yaml') as Compose;

  it('pins every image by tag and builds ours from Dockerfiles that exist', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      expect(`${name}: ${svc.image}`).toMatch(/^[\w-]+: [\w./-]+:[\w.-]+$/);
      expect(svc.image).not.toMatch(/:latest$/);
      if (svc.build) expect(existsSync(join(REPO_ROOT, svc.build.dockerfile))).toBe(true);
    }
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'grafana',
        'loki',
        'memory-service',
        'otel-collector',
        'postgres',
        'prometheus',
        'redis',
        'tempo',
      ].sort(),
    );
  });

  it('mounts only files and directories that exist', () => {
    for (const svc of Object.values(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0] ?? '';
        if (src.startsWith('.')) expect(`${src} ${existsSync(join(COLLECTOR, src))}`).toBe(`${src} true`);
      }
    }
  });

  it('passes `docker-compose config` (schema validation; no engine needed)', async () => {
    const r = await runCommand('docker-compose', ['-f', 'docker-compose.yaml', 'config', '--quiet'], {
      cwd: COLLECTOR,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('publishes the collector ports docs/operational-runbook.md uses on localhost', () => {
    const published = (compose.services['otel-collector']?.ports ?? []).map((p) => p.split(':')[0]);
    const runbook = readFileSync(join(REPO_ROOT, 'docs', 'operational-runbook.md'), 'utf8');
    for (const port of ['4318', '13133', '8888', '8889']) {
      if (runbook.includes(`localhost:${port}`) || runbook.includes(`\`:${port}\``))
        expect(`${port} published: ${published.includes(port)}`).toBe(`${port} published: true`);
    }
  });

  it('the Prometheus config it mounts scrapes the collector service by its compose name', () => {
    const prom = yaml('prometheus/prometheus.yml');
    const targets = prom.scrape_configs.flatMap((s: { static_configs: Array<{ targets: string[] }> }) =>
      s.static_configs.flatMap((c) => c.targets),
    );
    expect(targets).toEqual(expect.arrayContaining(['otel-collector:8889', 'otel-collector:8888']));
  });
});
