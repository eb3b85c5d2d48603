// End to end, real processes: a service under `--require @mem0-stack/otel/register` (pg, Redis,
// @mem0-stack/logging, errors, resilience, cache) → the ocb-built collector with the shipped
// config → Tempo and Loki stand-ins (second collector instances with a file exporter: Tempo and
// Loki cannot run here) and a real Prometheus (Debian package). The tests run in order and
// share one stack, like one deployment living through a day: normal traffic, a collector
// crash, a Prometheus outage, then every dashboard query and alert rule against what was stored.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type SinkSpan, sumPrometheusSamples, waitFor } from '@mem0-stack/testkit';
import { SERVICE_NAME, type Stack, startStack } from './helpers/stack';

jest.setTimeout(180_000);

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    collectorEnv: {
      // Small enough that the Prometheus-outage test overflows it and shows the drop counter.
      OTELCOL_REMOTE_WRITE_QUEUE_SIZE: '50',
      OTELCOL_MEMORY_LIMIT_MIB: '300',
      OTELCOL_MEMORY_SPIKE_MIB: '80',
    },
  });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

type Res = { status: number; traceId?: string; body: string };

async function call(path: string, init: RequestInit = {}): Promise<Res> {
  const r = await fetch(`${stack.serviceUrl}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const body = await r.text();
  // W3C traceresponse: 00-<trace id>-<span id>-<flags>
  const traceId = r.headers.get('traceresponse')?.split('-')[1];
  return { status: r.status, traceId, body };
}

const svc = `service_name="${SERVICE_NAME}"`;

async function promValue(expr: string): Promise<number> {
  const r = await stack.prom.query(expr);
  return r.reduce((a, s) => a + (Number.isFinite(s.value) ? s.value : 0), 0);
}

function spansOf(traceId: string): SinkSpan[] {
  return stack.tempo.spans().filter((s) => s.traceId === traceId);
}

/** Drives the routes that produce every kind of signal the dashboards and alerts read. */
async function mixedTraffic(rounds = 1): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (let id = 1; id <= 20; id++) await call(`/items/${id}`); // misses, then hits next round
    for (let id = 1; id <= 20; id++) await call(`/items/${id}`);
    for (let i = 0; i < 4; i++) await call('/flaky');
    for (let i = 0; i < 6; i++) await call('/down');
    await call('/items/100000'); // not found
    await call('/boom'); // 500, unclassified
    await call('/nope'); // no route
    await call('/items/3/invalidate', { method: 'POST' });
    await call('/healthz');
  }
}

describe('one request, three signals, one trace id', () => {
  let traceId: string;

  it('serves a request that touches PostgreSQL and Redis', async () => {
    const r = await call('/items/7');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ id: 7, name: 'item 7' });
    expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
    traceId = r.traceId ?? '';
  });

  it('the trace reaches the Tempo stand-in with parent/child spans intact', async () => {
    const spans = await waitFor(
      () => {
        const s = spansOf(traceId);
        const hasDb = s.some(
          (x) =>
            x.attributes['db.system.name'] === 'postgresql' || x.attributes['db.system'] === 'postgresql',
        );
        const hasRedis = s.some(
          (x) => x.attributes['db.system.name'] === 'redis' || x.attributes['db.system'] === 'redis',
        );
        return hasDb && hasRedis && s;
      },
      { timeoutMs: 30_000, what: `server, pg and redis spans of ${traceId} at the Tempo stand-in` },
    );
    const ids = new Set(spans.map((s) => s.spanId));
    const roots = spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId));
    expect(roots).toHaveLength(1);
    const root = roots[0] as SinkSpan;
    expect(root.kind).toBe(2); // SERVER
    expect(root.attributes['http.route']).toBe('/items/:id');
    expect(root.resource['service.name']).toBe(SERVICE_NAME);
    // Every pg and redis span descends from the server span.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const reachesRoot = (s: SinkSpan): boolean => {
      for (let cur: SinkSpan | undefined = s, hops = 0; cur && hops < 50; hops++) {
        if (cur.spanId === root.spanId) return true;
        cur = cur.parentSpanId ? byId.get(cur.parentSpanId) : undefined;
      }
      return false;
    };
    const deps = spans.filter((s) => s.kind === 3); // CLIENT
    expect(deps.length).toBeGreaterThanOrEqual(2);
    for (const d of deps) expect(`${d.name}: ${reachesRoot(d)}`).toBe(`${d.name}: true`);
  });

  it('the log records reach the Loki stand-in carrying the trace_id of the stdout JSON line', async () => {
    const line = await waitFor(
      () => stack.serviceLogs().find((r) => r.message === 'item served' && r.trace_id === traceId),
      { timeoutMs: 10_000, what: 'the "item served" stdout line' },
    );
    expect(line.correlation_id).toBe(traceId);
    expect(line['service.name']).toBe(SERVICE_NAME);
    const records = await waitFor(
      () => {
        const l = stack.loki.logs().filter((r) => r.traceId === traceId);
        return l.some((r) => r.body === 'item served') && l;
      },
      { timeoutMs: 30_000, what: `log records of ${traceId} at the Loki stand-in` },
    );
    const served = records.find((r) => r.body === 'item served');
    expect(served?.spanId).toBe(line.span_id);
    expect(served?.resource['service.name']).toBe(SERVICE_NAME);
    expect(served?.attributes['item.id']).toBe(7);
    // Exactly one OTLP copy per stdout line (no duplicate bridge).
    expect(records.filter((r) => r.body === 'item served')).toHaveLength(1);
  });

  it('health-check requests never reach Tempo', async () => {
    // The preload does not trace probe paths at all, and the collector's filter/health would drop
    // any probe span an SDK still sends (shown with raw OTLP in packages/testkit's collector test).
    for (let i = 0; i < 5; i++) expect((await call('/healthz')).status).toBe(200);
    const after = await call('/items/8');
    await waitFor(() => spansOf(after.traceId ?? '').length > 0, {
      timeoutMs: 30_000,
      what: 'a later trace',
    });
    const probeSpans = stack.tempo
      .spans()
      .filter(
        (s) =>
          s.attributes['http.route'] === '/healthz' ||
          s.attributes['url.path'] === '/healthz' ||
          String(s.attributes['http.target'] ?? '').startsWith('/healthz') ||
          s.name.includes('/healthz'),
      );
    expect(probeSpans).toEqual([]);
    expect(stack.tempo.spans().some((s) => s.attributes['http.route'] === '/items/:id')).toBe(true);
  });
});

describe('metrics in a real Prometheus', () => {
  beforeAll(async () => {
    await mixedTraffic(1);
  });

  it('span metrics (RED by route) arrive through the :8889 scrape, with exemplars linking to traces', async () => {
    // 40 /items requests in mixedTraffic() plus the earlier ones; spans are flushed every 2 s
    // and scraped every 2 s, so wait for the count to catch up, not for the first sample.
    const calls = await waitFor(
      async () => {
        const v = await promValue(
          `sum(traces_spanmetrics_calls_total{${svc}, http_route="/items/:id", span_kind="SPAN_KIND_SERVER"})`,
        );
        return v >= 40 && v;
      },
      { timeoutMs: 60_000, intervalMs: 1000, what: 'traces_spanmetrics_calls_total ≥ 40 in Prometheus' },
    );
    expect(calls).toBeGreaterThanOrEqual(40);
    expect(
      await promValue(`sum(traces_spanmetrics_duration_seconds_count{${svc}, span_kind="SPAN_KIND_SERVER"})`),
    ).toBeGreaterThan(0);
    const statuses = await waitFor(
      async () => {
        const r = await stack.prom.query(
          `sum by (http_response_status_code) (traces_spanmetrics_calls_total{${svc}, span_kind="SPAN_KIND_SERVER"})`,
        );
        const codes = r.map((x) => x.metric.http_response_status_code);
        return ['200', '404', '500', '503'].every((c) => codes.includes(c)) && codes;
      },
      { timeoutMs: 30_000, intervalMs: 1000, what: 'span metrics for 200, 404, 500 and 503 responses' },
    );
    expect(statuses).toEqual(expect.arrayContaining(['200', '404', '500', '503']));
    // An exemplar is only exposed until the connector's next flush; on a busy machine the scrape
    // can miss every one of an earlier burst, so keep a trickle of requests going. The same
    // spans reach the Tempo stand-in through their own batch, so wait until one exemplar's
    // trace is there too.
    const linked = await waitFor(
      async () => {
        await call('/items/5');
        const r = await stack.prom.exemplars(`traces_spanmetrics_duration_seconds_bucket{${svc}}`);
        const ids = r.flatMap((x) => x.exemplars.map((e) => e.labels.trace_id)).filter(Boolean);
        const known = new Set(stack.tempo.spans().map((x) => x.traceId));
        return ids.find((id) => id && known.has(id)) ?? false;
      },
      { timeoutMs: 30_000, intervalMs: 1000, what: 'a span-metric exemplar whose trace is in Tempo' },
    );
    expect(linked).toMatch(/^[0-9a-f]{32}$/);
  });

  it.each([
    ['app_errors_total', `sum(app_errors_total{${svc}})`],
    ['cache_requests_total (hits)', `sum(cache_requests_total{${svc}, cache_result="hit"})`],
    ['cache_requests_total (misses)', `sum(cache_requests_total{${svc}, cache_result="miss"})`],
    ['cache_load_duration_seconds', `sum(cache_load_duration_seconds_count{${svc}})`],
    ['cache_invalidations_total', `sum(cache_invalidations_total{${svc}})`],
    ['resilience_retry_attempts_total', `sum(resilience_retry_attempts_total{${svc}})`],
    ['resilience_recovered_total', `sum(resilience_recovered_total{${svc}})`],
    ['resilience_exhausted_total', `sum(resilience_exhausted_total{${svc}})`],
    ['resilience_circuit_transitions_total', `sum(resilience_circuit_transitions_total{${svc}})`],
    ['resilience_rejected_total', `sum(resilience_rejected_total{${svc}})`],
    [
      'resilience_circuit_state = open',
      `max(resilience_circuit_state{${svc}, resilience_name="down-dependency"})`,
    ],
    ['log_records_total', `sum(log_records_total{${svc}})`],
    ['operation_duration_milliseconds', `sum(operation_duration_milliseconds_count{${svc}})`],
  ])('our own metric %s arrives through remote write', async (_name, expr) => {
    const v = await waitFor(() => promValue(expr), {
      timeoutMs: 60_000,
      intervalMs: 1000,
      what: `${expr} > 0 in Prometheus`,
    });
    expect(v).toBeGreaterThan(0);
  });

  it('labels our metrics as the dashboards expect (categories, levels, tiers)', async () => {
    const cats = await stack.prom.query(`sum by (error_category, error_code) (app_errors_total{${svc}})`);
    expect(cats.map((s) => s.metric.error_category)).toEqual(
      expect.arrayContaining(['not_found', 'unavailable']),
    );
    const levels = await stack.prom.query(`sum by (level) (log_records_total{${svc}})`);
    expect(levels.map((s) => s.metric.level)).toEqual(expect.arrayContaining(['info', 'error']));
    expect(await promValue(`max(resilience_circuit_state{${svc}, resilience_name="down-dependency"})`)).toBe(
      2,
    );
  });
});

describe('chaos: the collector is killed mid-load and restarted', () => {
  it('loses no request, keeps the app within +50 MB RSS, counts the loss, and data flows again', async () => {
    const pid = stack.servicePid;
    const readRss = () => {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return Number(m?.[1] ?? 0) * 1024;
    };
    const droppedBefore = await promValue(`sum(telemetry_dropped_total{${svc}})`);
    // RSS is compared with the same load while the collector is up (a warm-up phase), so heap
    // growth from the load itself is not blamed on the outage.
    const idleRss = readRss();
    let phase: 'warmup' | 'outage' = 'warmup';
    let baselineRss = idleRss;
    let maxRss = 0;
    const sampler = setInterval(() => {
      const v = readRss();
      if (phase === 'warmup') baselineRss = Math.max(baselineRss, v);
      else maxRss = Math.max(maxRss, v);
    }, 100);

    const results = { ok: 0, failed: [] as string[] };
    const deadline = Date.now() + 20_000;
    // A steady ~150 requests/s (6 workers, one request per 40 ms each at most), so the figure
    // does not depend on how fast this machine happens to be.
    const worker = async (w: number) => {
      for (let i = 0; Date.now() < deadline; i++) {
        const t0 = Date.now();
        try {
          const r = await call(`/items/${((w * 31 + i) % 100) + 1}`);
          if (r.status === 200) results.ok++;
          else results.failed.push(`status ${r.status}`);
        } catch (err) {
          results.failed.push(String(err));
        }
        const wait = 40 - (Date.now() - t0);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, (_, w) => worker(w)));
    await new Promise((r) => setTimeout(r, 6000));
    phase = 'outage';
    await stack.collector.kill();
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 6000));
    await stack.collector.start();
    const restartedAfterMs = Date.now() - killedAt;
    await load;
    clearInterval(sampler);

    expect(results.failed).toEqual([]);
    expect(results.ok).toBeGreaterThan(100);
    expect(restartedAfterMs).toBeGreaterThanOrEqual(6000);
    const growthMiB = (maxRss - baselineRss) / 1024 / 1024;
    console.log(
      `chaos: ${results.ok} requests, 0 failed; service RSS idle ${Math.round(idleRss / 1048576)} MiB, under load with the collector up ≤ ${Math.round(baselineRss / 1048576)} MiB, during outage + restart max ${Math.round(maxRss / 1048576)} MiB (+${growthMiB.toFixed(1)} MiB)`,
    );
    expect(growthMiB).toBeLessThanOrEqual(50);

    // Data flows again: a new request's trace reaches Tempo through the restarted collector.
    const after = await call('/items/9');
    await waitFor(() => spansOf(after.traceId ?? '').length > 0, {
      timeoutMs: 30_000,
      what: 'a trace through the restarted collector',
    });
    // The SDK counted what it could not deliver while the collector was down.
    const dropped = await waitFor(
      async () => {
        const v = await promValue(`sum(telemetry_dropped_total{${svc}})`);
        return v > droppedBefore && v;
      },
      { timeoutMs: 60_000, intervalMs: 1000, what: 'telemetry_dropped_total to grow after the outage' },
    );
    console.log(`chaos: telemetry_dropped_total ${droppedBefore} → ${dropped}`);
    expect(dropped).toBeGreaterThan(droppedBefore);
  });
});

describe('chaos: Prometheus is down', () => {
  it('keeps the collector memory bounded (queue overflows are dropped and counted) and recovers', async () => {
    const limitBytes = 300 * 1024 * 1024;
    await stack.prom.stop();
    const failedBefore = await stack.collector.selfMetric('otelcol_exporter_enqueue_failed_metric_points', {
      exporter: 'prometheus_remote_write',
    });
    let maxRss = (stack.collector.rssKiB() ?? 0) * 1024;
    const sampler = setInterval(() => {
      maxRss = Math.max(maxRss, (stack.collector.rssKiB() ?? 0) * 1024);
    }, 200);

    // Many services' worth of metrics: 400 series per request, 4 senders, for at least 15 s and
    // until the remote-write queue has overflowed (at most 75 s): how many requests that takes
    // depends on the machine's speed, so the load runs to the effect, not to a request count.
    const start = Date.now();
    let overflowed = false;
    const done = () => Date.now() - start > 75_000 || (overflowed && Date.now() - start > 15_000);
    let sent = 0;
    let refused = 0;
    const sender = async (w: number) => {
      for (let i = 0; !done(); i++) {
        const t = String(BigInt(Date.now()) * 1_000_000n);
        const points = Array.from({ length: 400 }, (_, k) => ({
          asDouble: i,
          timeUnixNano: t,
          attributes: [{ key: 'series', value: { stringValue: `s${w}-${k}` } }],
        }));
        const body = {
          resourceMetrics: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: `load-${w}` } }] },
              scopeMetrics: [
                { scope: { name: 'load' }, metrics: [{ name: 'load.gauge', gauge: { dataPoints: points } }] },
              ],
            },
          ],
        };
        try {
          const r = await fetch(`${stack.collector.otlpHttpUrl}/v1/metrics`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(10_000),
          });
          await r.arrayBuffer();
          if (r.ok) sent++;
          else refused++;
        } catch {
          refused++;
        }
      }
    };
    const watcher = (async () => {
      while (!done()) {
        await new Promise((res) => setTimeout(res, 1000));
        const failed = await stack.collector
          .selfMetric('otelcol_exporter_enqueue_failed_metric_points', {
            exporter: 'prometheus_remote_write',
          })
          .catch(() => failedBefore);
        if (failed > failedBefore) overflowed = true;
      }
    })();
    const appOk = (async () => {
      let bad = 0;
      while (!done()) {
        const r = await call('/items/5').catch(() => ({ status: 0 }));
        if (r.status !== 200) bad++;
        await new Promise((res) => setTimeout(res, 100));
      }
      return bad;
    })();
    try {
      await Promise.all([0, 1, 2, 3].map(sender));
      await watcher;
      expect(await appOk).toBe(0);
      clearInterval(sampler);

      const health = await fetch(stack.collector.healthUrl);
      expect(health.status).toBe(200);
      const failedAfter = await stack.collector.selfMetric('otelcol_exporter_enqueue_failed_metric_points', {
        exporter: 'prometheus_remote_write',
      });
      console.log(
        `prometheus down: ${sent} metric requests accepted, ${refused} refused in ${Math.round((Date.now() - start) / 1000)} s; collector RSS max ${Math.round(maxRss / 1048576)} MiB (limit ${limitBytes / 1048576} MiB); remote-write enqueue failures ${failedBefore} → ${failedAfter}`,
      );
      expect(sent).toBeGreaterThan(0);
      expect(failedAfter).toBeGreaterThan(failedBefore);
      expect(maxRss).toBeLessThan(limitBytes);
    } finally {
      clearInterval(sampler);
      // Prometheus comes back (same data directory) even when an expectation above failed, so
      // the dashboard and rule checks below still have a Prometheus to query.
      await stack.prom.start();
    }

    // Remote write resumes.
    const before = Date.now() / 1000;
    await waitFor(
      async () => {
        const r = await stack.prom.query(`timestamp(max(log_records_total{${svc}}))`);
        return (r[0]?.value ?? 0) > before;
      },
      { timeoutMs: 60_000, intervalMs: 1000, what: 'fresh remote-written samples after Prometheus restarts' },
    );
  });
});

describe('dashboards and alert rules against the stored data', () => {
  beforeAll(async () => {
    await mixedTraffic(2);
    // Let one more scrape and a few metric exports land after the traffic.
    await new Promise((r) => setTimeout(r, 8000));
  });

  type Target = { expr?: string; datasource?: { type?: string } };
  type Panel = { title?: string; type?: string; targets?: Target[]; panels?: Panel[] };
  const dashboardsDir = join(REPO_ROOT, 'collector', 'grafana', 'dashboards');
  const promTargets: Array<[string, string]> = [];
  for (const file of readdirSync(dashboardsDir).filter((f) => f.endsWith('.json'))) {
    const d = JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as {
      panels: Panel[];
      templating: { list: Array<{ definition?: string }> };
    };
    for (const p of d.panels) {
      for (const t of p.targets ?? []) {
        if (t.datasource?.type === 'prometheus' && t.expr) promTargets.push([`${file} · ${p.title}`, t.expr]);
      }
    }
    for (const v of d.templating.list) {
      const m = /^label_values\((\w+), (\w+)\)$/.exec(v.definition ?? '');
      if (m) promTargets.push([`${file} · $service variable`, `count by (${m[2]}) (${m[1]})`]);
    }
  }

  // Grafana's variables, as a user looking at this service over the last half hour would have them.
  const expand = (expr: string) =>
    expr
      .replaceAll('$service', SERVICE_NAME)
      .replaceAll('$__rate_interval', '2m')
      .replaceAll('$__range', '30m')
      .replaceAll('$__interval', '15s');

  it('found the dashboards’ Prometheus queries', () => {
    expect(promTargets.length).toBeGreaterThanOrEqual(30);
  });

  it.each(promTargets)('%s returns data', async (_title, expr) => {
    const q = expand(expr);
    const r = await waitFor(
      async () => {
        const res = await stack.prom.query(q);
        return res.some((s) => Number.isFinite(s.value)) && res;
      },
      { timeoutMs: 20_000, intervalMs: 1000, what: `data for ${q}` },
    );
    expect(r.length).toBeGreaterThan(0);
  });

  it('every alert and recording rule evaluates without error against the real data', async () => {
    const data = (await stack.prom.api('/api/v1/rules')) as {
      groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
    };
    const rules = data.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(9);
    for (const r of rules) expect(`${r.name}: ${r.health} ${r.lastError ?? ''}`.trim()).toBe(`${r.name}: ok`);
    // The breaker of the always-down dependency has been open for minutes by now.
    const firing = (await stack.prom.api('/api/v1/alerts')) as {
      alerts: Array<{ labels: Record<string, string> }>;
    };
    const names = firing.alerts.map((a) => a.labels.alertname);
    expect(names).toEqual(
      expect.arrayContaining(['TelemetryDropped', 'CircuitBreakerOpen', 'CollectorDroppingData']),
    );
  });

  it('the collector exposes the self-telemetry the telemetry-health dashboard reads', async () => {
    const text = await (await fetch(stack.collector.telemetryUrl)).text();
    expect(sumPrometheusSamples(text, 'otelcol_receiver_accepted_spans')).toBeGreaterThan(0);
    expect(
      sumPrometheusSamples(text, 'otelcol_exporter_sent_spans', { exporter: 'otlp_grpc/tempo' }),
    ).toBeGreaterThan(0);
    expect(
      sumPrometheusSamples(text, 'otelcol_exporter_sent_log_records', { exporter: 'otlp_http/loki' }),
    ).toBeGreaterThan(0);
  });
});
