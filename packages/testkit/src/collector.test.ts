import {
  COLLECTOR_CONFIG,
  type Collector,
  type CollectorSink,
  startCollector,
  startCollectorSink,
  startPrometheus,
  sumPrometheusSamples,
  validateCollectorConfig,
  waitFor,
} from './index';

const now = () => String(BigInt(Date.now()) * 1_000_000n);

function spanPayload(traceId: string, service: string) {
  const t = now();
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'testkit' },
            spans: [
              {
                traceId,
                spanId: '1'.repeat(16),
                name: 'GET /things/:id',
                kind: 2,
                startTimeUnixNano: t,
                endTimeUnixNano: t,
                attributes: [
                  { key: 'http.route', value: { stringValue: '/things/:id' } },
                  { key: 'http.method', value: { stringValue: 'GET' } },
                  { key: 'url.full', value: { stringValue: 'http://h/things/1?token=abc123&page=2' } },
                  { key: 'user.password', value: { stringValue: 'hunter2' } },
                  { key: 'peer.note', value: { stringValue: 'via redis://app:s3cret@cache:6379/0' } },
                  { key: 'http.request.header.authorization', value: { stringValue: 'Bearer abcdefghijkl' } },
                ],
              },
              {
                traceId,
                spanId: '2'.repeat(16),
                parentSpanId: '1'.repeat(16),
                name: 'GET /healthz',
                kind: 2,
                startTimeUnixNano: t,
                endTimeUnixNano: t,
                attributes: [{ key: 'url.path', value: { stringValue: '/healthz' } }],
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('collector helpers', () => {
  let sink: CollectorSink | undefined;
  let col: Collector | undefined;

  afterAll(async () => {
    await col?.cleanup();
    await sink?.cleanup();
  });

  it('validates the shipped collector config', async () => {
    const r = await validateCollectorConfig(COLLECTOR_CONFIG);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
  });

  it('rejects a broken config with a clear message', async () => {
    const r = await validateCollectorConfig(COLLECTOR_CONFIG, {
      OTELCOL_METRICS_EXPORTERS: '[no_such_exporter]',
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/no_such_exporter/);
  });

  it('runs the collector in front of a file-exporting sink, and survives a kill + restart', async () => {
    sink = await startCollectorSink();
    col = await startCollector({ env: { TEMPO_ENDPOINT: sink.otlpGrpcEndpoint } });
    const post = (traceId: string) =>
      fetch(`${col?.otlpHttpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(spanPayload(traceId, 'testkit-svc')),
      });
    expect((await post('a'.repeat(32))).status).toBe(200);
    const spans = await waitFor(
      () => sink?.spans().filter((s) => s.traceId === 'a'.repeat(32)).length && sink.spans(),
      {
        timeoutMs: 20_000,
        what: 'span at the sink',
      },
    );
    // The shipped config drops health-check spans and stamps deployment.environment.
    expect(spans.map((s) => s.name)).toEqual(['GET /things/:id']);
    expect(spans[0]?.resource['deployment.environment']).toBe('development');
    // Collector-side redaction and normalisation (second line after the SDK).
    const a = spans[0]?.attributes ?? {};
    expect(a['url.full']).toBe('http://h/things/1?token=[REDACTED]&page=2');
    expect(a['user.password']).toBe('****');
    expect(String(a['peer.note'])).not.toContain('s3cret');
    expect(a['http.request.header.authorization']).toBeUndefined();
    expect(a['http.request.method']).toBe('GET');
    expect(col.rssKiB()).toBeGreaterThan(1000);
    expect(await col.selfMetric('otelcol_receiver_accepted_spans', { transport: 'http' })).toBe(2);

    await col.kill();
    expect(col.running).toBe(false);
    await expect(post('b'.repeat(32))).rejects.toThrow();
    await col.start();
    expect((await post('c'.repeat(32))).status).toBe(200);
    await waitFor(() => sink?.spans().some((s) => s.traceId === 'c'.repeat(32)), {
      timeoutMs: 20_000,
      what: 'span after restart',
    });
  });

  it('starts Prometheus with the remote-write receiver and queries it', async () => {
    const prom = await startPrometheus();
    try {
      const r = await prom.query('vector(42)');
      expect(r).toEqual([{ metric: {}, value: 42 }]);
      await expect(prom.query('sum(')).rejects.toThrow(/parse error/);
      expect(prom.remoteWriteUrl).toMatch(/\/api\/v1\/write$/);
    } finally {
      await prom.cleanup();
    }
    expect(prom.running).toBe(false);
  });

  it('sums Prometheus text samples by label', () => {
    const text = '# TYPE x counter\nx{a="1",b="2"} 3\nx{a="1",b="3"} 4\nxy{a="1"} 100\nx 5\n';
    expect(sumPrometheusSamples(text, 'x', { a: '1' })).toBe(7);
    expect(sumPrometheusSamples(text, 'x')).toBe(12);
    expect(sumPrometheusSamples(text, 'missing')).toBe(0);
  });
});
