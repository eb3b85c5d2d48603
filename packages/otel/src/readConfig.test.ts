import { validateHeaderName, validateHeaderValue } from 'node:http';
import { readConfig } from './readConfig';

describe('readConfig', () => {
  it('uses spec defaults with an empty environment', () => {
    const { config, warnings } = readConfig({});
    expect(warnings).toEqual([]);
    expect(config.disabled).toBe(false);
    expect(config.traces.otlp.url).toBe('http://localhost:4318/v1/traces');
    expect(config.metrics.otlp.url).toBe('http://localhost:4318/v1/metrics');
    expect(config.traces.otlp.protocol).toBe('http/protobuf');
    expect(config.traces.batch).toEqual({
      scheduledDelayMillis: 5000,
      exportTimeoutMillis: 30_000,
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
    });
    expect(config.logs.batch.scheduledDelayMillis).toBe(1000);
    expect(config.sampler).toEqual({ name: 'parentbased_always_on', ratio: 1 });
    expect(config.propagators).toEqual(['tracecontext', 'baggage']);
    expect(config.shutdownTimeoutMillis).toBe(3000);
    expect(config.instrumentations.enabled).toEqual([
      'http',
      'undici',
      'express',
      'pg',
      'redis',
      'winston',
      'runtime-node',
    ]);
  });

  it('gives one warning per bad value, naming the variable and the default', () => {
    const { config, warnings } = readConfig({
      OTEL_BSP_MAX_QUEUE_SIZE: 'lots',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '2',
      OTEL_SDK_DISABLED: 'yes please',
      OTEL_EXPORTER_OTLP_TIMEOUT: '-5',
      OTEL_METRIC_EXPORT_INTERVAL: '1.5',
      OTEL_LOG_LEVEL: 'loud',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_EXPORTER: 'zipkin',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url',
      MEM0_OTEL_SHUTDOWN_TIMEOUT_MS: 'soon',
      MEM0_OTEL_SPAN_DETAIL: 'everything',
    });
    expect(config.traces.batch.maxQueueSize).toBe(2048);
    expect(config.sampler.name).toBe('parentbased_always_on');
    expect(config.disabled).toBe(false);
    expect(config.traces.otlp.timeoutMillis).toBe(10_000);
    expect(config.metrics.exportIntervalMillis).toBe(60_000);
    expect(config.logLevel).toBe('info');
    expect(config.traces.otlp.protocol).toBe('http/protobuf');
    expect(config.traces.exporters).toEqual(['otlp']);
    expect(config.traces.otlp.url).toBe('http://localhost:4318/v1/traces');
    expect(config.shutdownTimeoutMillis).toBe(3000);
    expect(config.spanDetail).toBe('lean');
    const names = [
      'OTEL_BSP_MAX_QUEUE_SIZE',
      'OTEL_TRACES_SAMPLER=',
      'OTEL_SDK_DISABLED',
      'OTEL_EXPORTER_OTLP_TIMEOUT',
      'OTEL_METRIC_EXPORT_INTERVAL',
      'OTEL_LOG_LEVEL',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_TRACES_EXPORTER',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'MEM0_OTEL_SHUTDOWN_TIMEOUT_MS',
      'MEM0_OTEL_SPAN_DETAIL',
    ];
    for (const n of names) expect(warnings.filter((w) => w.includes(n))).toHaveLength(1);
    expect(warnings.every((w) => /default|using|ignor/i.test(w))).toBe(true);
  });

  it('never echoes header values, even malformed ones', () => {
    const { config, warnings } = readConfig({
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20s3cret,justatoken-s3cret',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=a',
    });
    expect(config.traces.otlp.headers).toEqual({ authorization: 'Bearer s3cret', 'x-tenant': 'a' });
    expect(config.metrics.otlp.headers).toEqual({ authorization: 'Bearer s3cret' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain('s3cret');
  });

  it('skips header entries node:http would refuse (one warning, values never echoed) and keeps the rest', () => {
    const { config, warnings } = readConfig({
      OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=acme,my key=s3cret,api-key=abc%0Ad3f',
      OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x-logs=1,x-bad=%7F',
    });
    expect(config.traces.otlp.headers).toEqual({ 'x-tenant': 'acme' });
    expect(config.logs.otlp.headers).toEqual({ 'x-tenant': 'acme', 'x-logs': '1' });
    // Every header left must be one http.request() accepts: a single bad one made every export fail.
    for (const s of ['traces', 'metrics', 'logs'] as const) {
      for (const [k, v] of Object.entries(config[s].otlp.headers)) {
        expect(() => validateHeaderName(k)).not.toThrow();
        expect(() => validateHeaderValue(k, v)).not.toThrow();
      }
    }
    expect(warnings.filter((w) => w.startsWith('OTEL_EXPORTER_OTLP_HEADERS '))).toHaveLength(1);
    expect(warnings.filter((w) => w.startsWith('OTEL_EXPORTER_OTLP_LOGS_HEADERS '))).toHaveLength(1);
    expect(warnings.join('\n')).not.toMatch(/s3cret|d3f|my key/);
  });

  it('uses signal-specific endpoints verbatim and appends paths to the base one', () => {
    const { config } = readConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4318/base/',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://logs:9999/custom',
    });
    expect(config.traces.otlp.url).toBe('https://collector:4318/base/v1/traces');
    expect(config.logs.otlp.url).toBe('http://logs:9999/custom');
  });

  it('never echoes credentials or query values of an endpoint it rejects', () => {
    const { config, warnings } = readConfig({
      // Not http(s), and a password with an unencoded '/' (not a valid URL): both rejected.
      OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://user:s3cret@collector:4317',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://user:pa/ss3cret@collector:4318/v1/traces',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'collector:4318/v1/logs?api_key=k3y',
    });
    expect(config.traces.otlp.url).toBe('http://localhost:4318/v1/traces');
    expect(warnings).toHaveLength(3);
    for (const name of [
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT',
    ])
      expect(warnings.some((w) => w.startsWith(`${name}=`))).toBe(true);
    expect(warnings.join('\n')).not.toMatch(/s3cret|k3y/);
    expect(warnings.join('\n')).toContain('"grpc://REDACTED:REDACTED@collector:4317"');
  });

  it('reads OTEL_PROPAGATORS and OTEL_NODE_RESOURCE_DETECTORS case-insensitively, like the other enums', () => {
    const { config, warnings } = readConfig({
      OTEL_PROPAGATORS: 'TraceContext, Baggage',
      OTEL_NODE_RESOURCE_DETECTORS: 'Env,HOST',
    });
    expect(warnings).toEqual([]);
    expect(config.propagators).toEqual(['tracecontext', 'baggage']);
    expect(config.resourceDetectors).toEqual(['env', 'host']);
  });

  it('honours exporters, none, ratio samplers and instrumentation lists', () => {
    const { config, warnings } = readConfig({
      OTEL_TRACES_EXPORTER: 'otlp,console',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,@opentelemetry/instrumentation-pg,redis,kafka',
      OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'redis',
    });
    expect(config.traces.exporters).toEqual(['otlp', 'console']);
    expect(config.metrics.exporters).toEqual([]);
    expect(config.sampler).toEqual({ name: 'parentbased_traceidratio', ratio: 0.25 });
    expect(config.instrumentations.enabled).toEqual(['http', 'pg']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"kafka"');
  });

  it('clamps the export batch to the queue size', () => {
    const { config, warnings } = readConfig({
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '500',
    });
    expect(config.traces.batch.maxExportBatchSize).toBe(100);
    expect(warnings[0]).toContain('OTEL_BSP_MAX_EXPORT_BATCH_SIZE');
  });

  it("rejects delays and timeouts longer than Node's timers hold (they would fire after 1 ms)", () => {
    const huge = '3000000000';
    const { config, warnings } = readConfig({
      OTEL_METRIC_EXPORT_INTERVAL: huge,
      OTEL_METRIC_EXPORT_TIMEOUT: huge,
      OTEL_BSP_SCHEDULE_DELAY: huge,
      OTEL_BSP_EXPORT_TIMEOUT: huge,
      OTEL_BLRP_SCHEDULE_DELAY: huge,
      OTEL_BLRP_EXPORT_TIMEOUT: huge,
      OTEL_EXPORTER_OTLP_TIMEOUT: huge,
      OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: huge,
    });
    expect(config.metrics.exportIntervalMillis).toBe(60_000);
    expect(config.metrics.exportTimeoutMillis).toBe(30_000);
    expect(config.traces.batch.scheduledDelayMillis).toBe(5000);
    expect(config.traces.batch.exportTimeoutMillis).toBe(30_000);
    expect(config.logs.batch.scheduledDelayMillis).toBe(1000);
    expect(config.logs.batch.exportTimeoutMillis).toBe(30_000);
    expect(config.traces.otlp.timeoutMillis).toBe(10_000);
    expect(config.logs.otlp.timeoutMillis).toBe(10_000);
    for (const name of [
      'OTEL_METRIC_EXPORT_INTERVAL=',
      'OTEL_METRIC_EXPORT_TIMEOUT=',
      'OTEL_BSP_SCHEDULE_DELAY=',
      'OTEL_BSP_EXPORT_TIMEOUT=',
      'OTEL_BLRP_SCHEDULE_DELAY=',
      'OTEL_BLRP_EXPORT_TIMEOUT=',
      'OTEL_EXPORTER_OTLP_TIMEOUT=',
      'OTEL_EXPORTER_OTLP_LOGS_TIMEOUT=',
    ]) {
      expect(warnings.filter((w) => w.startsWith(name))).toHaveLength(1);
    }
    // The largest value a timer holds is still accepted.
    expect(
      readConfig({ OTEL_METRIC_EXPORT_INTERVAL: '2147483647' }).config.metrics.exportIntervalMillis,
    ).toBe(2_147_483_647);
  });

  it('shortens huge rejected values in warnings', () => {
    const { warnings } = readConfig({ OTEL_BSP_SCHEDULE_DELAY: 'x'.repeat(65_536) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.length).toBeLessThan(300);
  });
});
