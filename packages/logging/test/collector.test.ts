/**
 * End to end through the real, ocb-built collector with the shipped config: the fixture app
 * logs under @mem0-stack/otel/register, the collector forwards its logs pipeline to a second
 * collector standing in for Loki (file exporter). Each stdout line must arrive exactly once,
 * with the same trace id, and no secret may reach the "Loki" side.
 */
import { join } from 'node:path';
import {
  type Collector,
  type CollectorSink,
  jsonLines,
  runNode,
  startCollector,
  startCollectorSink,
  waitFor,
} from '@mem0-stack/testkit';

jest.setTimeout(120_000);

const APP = join(__dirname, 'fixtures', 'app.js');
const REGISTER = require.resolve('@mem0-stack/otel/register');

describe('through the real collector', () => {
  let loki: CollectorSink;
  let collector: Collector;

  beforeAll(async () => {
    loki = await startCollectorSink();
    collector = await startCollector({ env: { LOKI_ENDPOINT: loki.otlpHttpUrl } });
  });
  afterAll(async () => {
    await collector?.cleanup();
    await loki?.cleanup();
  });

  it('delivers each record once with the stdout trace id, redacted', async () => {
    const r = await runNode(['--require', REGISTER, APP], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpHttpUrl,
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_SERVICE_NAME: 'fixture-app',
        OTEL_BLRP_SCHEDULE_DELAY: '50',
      },
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout).records.filter((l) => l['service.name'] === 'fixture-app');
    expect(lines).toHaveLength(3);

    const ours = () => loki.logs().filter((l) => l.scope === '@mem0-stack/logging');
    await waitFor(() => ours().length >= 3, {
      timeoutMs: 30_000,
      what: '3 log records at the Loki stand-in',
    });
    // give a duplicate, if any, time to arrive too
    await new Promise((res) => setTimeout(res, 1500));
    const received = ours();
    expect(received.map((l) => l.body).sort()).toEqual(['corked in a', 'inside span', 'outside any span']);
    for (const line of lines) {
      const rec = received.find((x) => x.body === line.message);
      if (line.trace_id === null) {
        expect(rec?.traceId).toBeUndefined();
        expect(rec?.attributes.correlation_id).toBe(line.correlation_id);
      } else {
        expect(rec?.traceId).toBe(line.trace_id);
        expect(rec?.spanId).toBe(line.span_id);
      }
      expect(rec?.resource['service.name']).toBe('fixture-app');
    }
    expect(JSON.stringify(received)).not.toContain('hunter2');
  });
});
