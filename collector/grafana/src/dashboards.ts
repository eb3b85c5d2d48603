// The mem0-stack Grafana dashboards, as code (grafana-foundation-sdk). `npm run dashboards
// -w @mem0-stack/e2e` writes them to collector/grafana/dashboards/*.json; a test checks the
// committed JSON is current and the e2e suite runs every PromQL target against a real
// Prometheus fed by the collector, so no panel points at a metric that does not exist.
//
// Metric names are the Prometheus forms the collector produces (see
// collector/prometheus/rules/mem0-alerts.yml for the mapping from the OTel names).
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as LogsPanel } from '@grafana/grafana-foundation-sdk/logs';
import { DataqueryBuilder as LokiQuery } from '@grafana/grafana-foundation-sdk/loki';
import { DataqueryBuilder as PromQuery } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

const PROM = { type: 'prometheus', uid: 'prometheus' };
const LOKI = { type: 'loki', uid: 'loki' };

/** Selector every app-level query carries: the service picked in the dashboard variable. */
const SVC = 'service_name=~"$service"';
const SERVER = `${SVC}, span_kind="SPAN_KIND_SERVER"`;
const RI = '$__rate_interval';

type Query = { expr: string; legend?: string; exemplar?: boolean };

function prom(q: Query, refId: string): PromQuery {
  const b = new PromQuery().datasource(PROM).expr(q.expr).refId(refId).range();
  if (q.legend) b.legendFormat(q.legend);
  if (q.exemplar) b.exemplar(true);
  return b;
}

function timeseries(title: string, unit: string, queries: Query[], description?: string): TimeseriesPanel {
  const p = new TimeseriesPanel()
    .title(title)
    .datasource(PROM)
    .unit(unit)
    .height(8)
    .span(12)
    .fillOpacity(10)
    .lineWidth(1);
  if (description) p.description(description);
  queries.forEach((q, i) => {
    p.withTarget(prom(q, String.fromCharCode(65 + i)));
  });
  return p;
}

function stat(
  title: string,
  unit: string,
  query: Query,
  thresholds: Array<{ value: number | null; color: string }>,
): StatPanel {
  return new StatPanel()
    .title(title)
    .datasource(PROM)
    .unit(unit)
    .height(4)
    .span(6)
    .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(thresholds))
    .withTarget(prom(query, 'A'));
}

function serviceVariable(metric: string): QueryVariableBuilder {
  return new QueryVariableBuilder('service')
    .label('Service')
    .datasource(PROM)
    .query({ query: `label_values(${metric}, service_name)`, refId: 'service' })
    .definition(`label_values(${metric}, service_name)`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .includeAll(true)
    .allValue('.+')
    .multi(true);
}

function base(uid: string, title: string, tags: string[]): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .tags(['mem0-stack', ...tags])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser');
}

const RED_THRESHOLDS = [
  { value: null, color: 'green' },
  { value: 0.2, color: 'red' },
];

function serviceRed(): DashboardBuilder {
  return base('mem0-service-red', 'mem0 / Service RED by route', ['red', 'traces'])
    .withVariable(serviceVariable('traces_spanmetrics_calls_total'))
    .withRow(new RowBuilder('Overview'))
    .withPanel(
      stat('Requests / s', 'reqps', { expr: `sum(rate(traces_spanmetrics_calls_total{${SERVER}}[${RI}]))` }, [
        { value: null, color: 'blue' },
      ]),
    )
    .withPanel(
      stat(
        '5xx ratio',
        'percentunit',
        {
          // `or … * 0` shows 0 (not "no data") while nothing fails.
          expr: `(sum(rate(traces_spanmetrics_calls_total{${SERVER}, http_response_status_code=~"5.."}[${RI}])) or sum(rate(traces_spanmetrics_calls_total{${SERVER}}[${RI}])) * 0) / sum(rate(traces_spanmetrics_calls_total{${SERVER}}[${RI}]))`,
        },
        [
          { value: null, color: 'green' },
          { value: 0.01, color: 'red' },
        ],
      ),
    )
    .withPanel(
      stat(
        'p95 latency',
        's',
        {
          expr: `histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_duration_seconds_bucket{${SERVER}}[${RI}])))`,
        },
        RED_THRESHOLDS,
      ),
    )
    .withPanel(
      stat(
        'Server errors (status Error)',
        'reqps',
        {
          expr: `sum(rate(traces_spanmetrics_calls_total{${SERVER}, status_code="STATUS_CODE_ERROR"}[${RI}])) or sum(rate(traces_spanmetrics_calls_total{${SERVER}}[${RI}])) * 0`,
        },
        [
          { value: null, color: 'green' },
          { value: 0.01, color: 'red' },
        ],
      ),
    )
    .withRow(new RowBuilder('Rate · Errors · Duration by route'))
    .withPanel(
      timeseries('Request rate by route', 'reqps', [
        {
          expr: `sum by (http_request_method, http_route) (rate(traces_spanmetrics_calls_total{${SERVER}}[${RI}]))`,
          legend: '{{http_request_method}} {{http_route}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Error ratio (5xx) by route', 'percentunit', [
        {
          expr: `(sum by (http_route) (rate(traces_spanmetrics_calls_total{${SERVER}, http_response_status_code=~"5.."}[${RI}])) or sum by (http_route) (rate(traces_spanmetrics_calls_total{${SERVER}}[${RI}])) * 0) / sum by (http_route) (rate(traces_spanmetrics_calls_total{${SERVER}}[${RI}]))`,
          legend: '{{http_route}}',
        },
      ]),
    )
    .withPanel(
      timeseries(
        'p95 latency by route',
        's',
        [
          {
            expr: `histogram_quantile(0.95, sum by (le, http_route) (rate(traces_spanmetrics_duration_seconds_bucket{${SERVER}}[${RI}])))`,
            legend: 'p95 {{http_route}}',
            exemplar: true,
          },
          {
            expr: `histogram_quantile(0.5, sum by (le, http_route) (rate(traces_spanmetrics_duration_seconds_bucket{${SERVER}}[${RI}])))`,
            legend: 'p50 {{http_route}}',
          },
        ],
        'Exemplars link each point to a trace in Tempo.',
      ),
    )
    .withPanel(
      timeseries('Responses by status code', 'reqps', [
        {
          expr: `sum by (http_response_status_code) (rate(traces_spanmetrics_calls_total{${SERVER}}[${RI}]))`,
          legend: '{{http_response_status_code}}',
        },
      ]),
    )
    .withRow(new RowBuilder('Dependencies (client spans)'))
    .withPanel(
      timeseries('Dependency calls by operation', 'ops', [
        {
          expr: `sum by (db_system_name, span_name) (rate(traces_spanmetrics_calls_total{${SVC}, span_kind="SPAN_KIND_CLIENT"}[${RI}]))`,
          legend: '{{db_system_name}} {{span_name}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Dependency p95 latency', 's', [
        {
          expr: `histogram_quantile(0.95, sum by (le, db_system_name) (rate(traces_spanmetrics_duration_seconds_bucket{${SVC}, span_kind="SPAN_KIND_CLIENT"}[${RI}])))`,
          legend: '{{db_system_name}}',
          exemplar: true,
        },
      ]),
    );
}

function errors(): DashboardBuilder {
  return base('mem0-errors', 'mem0 / Errors', ['errors'])
    .withVariable(serviceVariable('app_errors_total'))
    .withPanel(
      timeseries('Errors by category', 'ops', [
        {
          expr: `sum by (error_category) (rate(app_errors_total{${SVC}}[${RI}]))`,
          legend: '{{error_category}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Errors by severity', 'ops', [
        {
          expr: `sum by (error_severity) (rate(app_errors_total{${SVC}}[${RI}]))`,
          legend: '{{error_severity}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Top error codes', 'short', [
        {
          expr: `topk(10, sum by (error_code) (increase(app_errors_total{${SVC}}[$__range])))`,
          legend: '{{error_code}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Dependency failures (unavailable, timeout, database, cache, rate_limited)', 'ops', [
        {
          expr: `sum by (error_category, error_code) (rate(app_errors_total{${SVC}, error_category=~"unavailable|timeout|database|cache|rate_limited"}[${RI}])) or sum by (error_category, error_code) (rate(app_errors_total{${SVC}}[${RI}])) * 0`,
          legend: '{{error_category}} {{error_code}}',
        },
      ]),
    );
}

function resilience(): DashboardBuilder {
  return base('mem0-resilience', 'mem0 / Resilience', ['resilience'])
    .withVariable(serviceVariable('resilience_circuit_state'))
    .withPanel(
      new StateTimelinePanel()
        .title('Circuit breaker state (0 closed, 1 half-open, 2 open, 3 isolated)')
        .datasource(PROM)
        .height(8)
        .span(24)
        .thresholds(
          new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
            { value: null, color: 'green' },
            { value: 1, color: 'yellow' },
            { value: 2, color: 'red' },
            { value: 3, color: 'purple' },
          ]),
        )
        .withTarget(
          prom(
            {
              expr: `max by (resilience_name) (resilience_circuit_state{${SVC}})`,
              legend: '{{resilience_name}}',
            },
            'A',
          ),
        ),
    )
    .withPanel(
      timeseries('Retries', 'ops', [
        {
          expr: `sum by (resilience_name) (rate(resilience_retry_attempts_total{${SVC}}[${RI}]))`,
          legend: '{{resilience_name}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Recovered vs exhausted', 'ops', [
        {
          expr: `sum by (resilience_name) (rate(resilience_recovered_total{${SVC}}[${RI}]))`,
          legend: 'recovered {{resilience_name}}',
        },
        {
          expr: `sum by (resilience_name) (rate(resilience_exhausted_total{${SVC}}[${RI}]))`,
          legend: 'exhausted {{resilience_name}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Recovery rate (recovered / retried calls)', 'percentunit', [
        {
          // `or vector(0)` on both: resilience.recovered only exists after a first recovery, so
          // without it a service whose retries all fail would show "no data" instead of 0 %.
          expr: `(sum(increase(resilience_recovered_total{${SVC}}[$__range])) or vector(0)) / ((sum(increase(resilience_recovered_total{${SVC}}[$__range])) or vector(0)) + (sum(increase(resilience_exhausted_total{${SVC}}[$__range])) or vector(0)))`,
          legend: 'recovery rate',
        },
      ]),
    )
    .withPanel(
      timeseries('Breaker transitions and rejections', 'short', [
        {
          expr: `sum by (resilience_name, resilience_circuit_to) (increase(resilience_circuit_transitions_total{${SVC}}[${RI}]))`,
          legend: '{{resilience_name}} → {{resilience_circuit_to}}',
        },
        {
          expr: `sum by (resilience_name, reason) (increase(resilience_rejected_total{${SVC}}[${RI}]))`,
          legend: 'rejected {{resilience_name}} ({{reason}})',
        },
      ]),
    );
}

function cache(): DashboardBuilder {
  return base('mem0-cache', 'mem0 / Cache', ['cache'])
    .withVariable(serviceVariable('cache_requests_total'))
    .withPanel(
      // Each lookup is counted once, at the tier that answered it, so this is the figure the
      // LowCacheHitRatio alert watches; the per-tier panel below shows where hits come from.
      // Hit ratio = (hit + stale) / all, as cache.stats().hitRatio: stale is an answer from the cache.
      timeseries('Hit ratio (all tiers)', 'percentunit', [
        {
          expr: `(sum by (cache_name) (rate(cache_requests_total{${SVC}, cache_result=~"hit|stale"}[${RI}])) or sum by (cache_name) (rate(cache_requests_total{${SVC}}[${RI}])) * 0) / sum by (cache_name) (rate(cache_requests_total{${SVC}}[${RI}]))`,
          legend: '{{cache_name}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Hit ratio by tier', 'percentunit', [
        {
          expr: `(sum by (cache_name, cache_tier) (rate(cache_requests_total{${SVC}, cache_result=~"hit|stale"}[${RI}])) or sum by (cache_name, cache_tier) (rate(cache_requests_total{${SVC}}[${RI}])) * 0) / sum by (cache_name, cache_tier) (rate(cache_requests_total{${SVC}}[${RI}]))`,
          legend: '{{cache_name}} {{cache_tier}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Lookups by result', 'ops', [
        {
          expr: `sum by (cache_name, cache_result) (rate(cache_requests_total{${SVC}}[${RI}]))`,
          legend: '{{cache_name}} {{cache_result}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Load time (miss → loader) p50 / p95', 's', [
        {
          expr: `histogram_quantile(0.95, sum by (le, cache_name) (rate(cache_load_duration_seconds_bucket{${SVC}}[${RI}])))`,
          legend: 'p95 {{cache_name}}',
        },
        {
          expr: `histogram_quantile(0.5, sum by (le, cache_name) (rate(cache_load_duration_seconds_bucket{${SVC}}[${RI}])))`,
          legend: 'p50 {{cache_name}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Invalidations', 'ops', [
        {
          expr: `sum by (cache_name, cache_invalidation_kind) (rate(cache_invalidations_total{${SVC}}[${RI}]))`,
          legend: '{{cache_name}} {{cache_invalidation_kind}}',
        },
      ]),
    );
}

function logs(): DashboardBuilder {
  return base('mem0-logs', 'mem0 / Logs', ['logs'])
    .withVariable(serviceVariable('log_records_total'))
    .withPanel(
      timeseries('Log records by level', 'short', [
        { expr: `sum by (level) (rate(log_records_total{${SVC}}[${RI}]))`, legend: '{{level}}' },
      ]),
    )
    .withPanel(
      timeseries('Error logs by service', 'short', [
        {
          expr: `sum by (service_name) (rate(log_records_total{${SVC}, level=~"error|fatal|crit|alert|emerg"}[${RI}])) or sum by (service_name) (rate(log_records_total{${SVC}}[${RI}])) * 0`,
          legend: '{{service_name}}',
        },
      ]),
    )
    .withPanel(
      new LogsPanel()
        .title('Warnings and errors (Loki)')
        .datasource(LOKI)
        .height(12)
        .span(24)
        .showTime(true)
        .enableLogDetails(true)
        .wrapLogMessage(true)
        .withTarget(
          new LokiQuery()
            .datasource(LOKI)
            .refId('A')
            .expr('{service_name=~"$service"} | severity_text=~"(?i)warn|error|fatal"'),
        ),
    );
}

/**
 * rate() over the per-signal collector counters (`<prefix>_spans`, `_log_records`,
 * `_metric_points`), each tagged with a `signal` label (and the counter it came from): rate()
 * drops the metric name, so without the tags two signals of one component would collide.
 */
function perSignal(prefixes: string[]): string {
  const signals: Array<[string, string]> = [
    ['spans', 'traces'],
    ['log_records', 'logs'],
    ['metric_points', 'metrics'],
  ];
  return prefixes
    .flatMap((prefix) =>
      signals.map(
        ([suffix, signal]) =>
          `label_replace(label_replace(rate(${prefix}_${suffix}[${RI}]), "signal", "${signal}", "", ""), "counter", "${prefix}", "", "")`,
      ),
    )
    .join(' or ');
}

// The $service variable reads telemetry_dropped_total (exported at 0 by every service), not
// target_info: remote write turns service.name into `job` there, so target_info's service_name
// values are only the collector's own.
function telemetryHealth(): DashboardBuilder {
  return base('mem0-telemetry-health', 'mem0 / Telemetry health', ['telemetry', 'collector'])
    .withVariable(serviceVariable('telemetry_dropped_total'))
    .withPanel(
      timeseries(
        'Dropped in the SDK (telemetry.dropped)',
        'short',
        [
          {
            expr: `sum by (service_name, signal) (increase(telemetry_dropped_total{${SVC}}[${RI}]))`,
            legend: '{{service_name}} {{signal}}',
          },
        ],
        'Items the service could not hand to the collector (collector down, queue full).',
      ),
    )
    .withPanel(
      timeseries('Collector: accepted vs refused (receiver)', 'short', [
        {
          expr: `sum by (receiver, signal) (${perSignal(['otelcol_receiver_accepted'])})`,
          legend: 'accepted {{signal}}',
        },
        {
          expr: `sum by (receiver, signal) (${perSignal(['otelcol_receiver_refused'])}) or sum by (receiver, signal) (${perSignal(['otelcol_receiver_accepted'])}) * 0`,
          legend: 'refused {{signal}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Collector: exported vs failed', 'short', [
        {
          expr: `sum by (exporter, signal) (${perSignal(['otelcol_exporter_sent'])})`,
          legend: 'sent {{exporter}}',
        },
        {
          expr: `sum by (exporter, signal) (${perSignal(['otelcol_exporter_send_failed', 'otelcol_exporter_enqueue_failed'])}) or sum by (exporter, signal) (${perSignal(['otelcol_exporter_sent'])}) * 0`,
          legend: 'failed {{exporter}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Collector: sending queue fill', 'percentunit', [
        {
          expr: 'max by (exporter) (otelcol_exporter_queue_size / otelcol_exporter_queue_capacity)',
          legend: '{{exporter}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Collector: memory (RSS) and heap', 'bytes', [
        { expr: 'max(otelcol_process_memory_rss)', legend: 'RSS' },
        { expr: 'max(otelcol_process_runtime_heap_alloc_bytes)', legend: 'heap' },
      ]),
    );
}

/** Every dashboard, keyed by the JSON file name it is written to. */
export function buildDashboards(): Record<string, Dashboard> {
  const all: Array<[string, cog.Builder<Dashboard>]> = [
    ['service-red.json', serviceRed()],
    ['errors.json', errors()],
    ['resilience.json', resilience()],
    ['cache.json', cache()],
    ['logs.json', logs()],
    ['telemetry-health.json', telemetryHealth()],
  ];
  return Object.fromEntries(all.map(([file, b]) => [file, b.build()]));
}
