// The scale-out layout in collector/gateway/ run for real: one agent (agent.yaml) in front of
// two gateways (gateway.yaml), each gateway exporting to its own Tempo stand-in. The spans of
// each trace are sent to the agent one request at a time; the load_balancing exporter must
// route every span of a trace to the same gateway (so span metrics and tail sampling there see
// whole traces), while spreading traces over both gateways.
// The only change to the shipped agent.yaml: the DNS resolver (one name → N gateways) is
// replaced by a static list, since there is no DNS name for two local processes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Collector,
  type CollectorSink,
  REPO_ROOT,
  startCollector,
  startCollectorSink,
  waitFor,
} from '@mem0-stack/testkit';
import { parse, stringify } from 'yaml';

jest.setTimeout(120_000);

const GATEWAY = join(REPO_ROOT, 'collector', 'gateway', 'gateway.yaml');
const AGENT = join(REPO_ROOT, 'collector', 'gateway', 'agent.yaml');

let dir: string;
const sinks: CollectorSink[] = [];
const gateways: Collector[] = [];
let agent: Collector | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mem0-gateway-'));
  for (let i = 0; i < 2; i++) {
    const sink = await startCollectorSink();
    sinks.push(sink);
    gateways.push(
      await startCollector({
        configs: [GATEWAY],
        env: {
          TEMPO_ENDPOINT: sink.otlpGrpcEndpoint,
          // Keep every trace so the test can see all of them (the default keeps errors, slow
          // traces and 10 % of the rest), and decide sooner than the default 10 s.
          TAIL_SAMPLING_PERCENT: '100',
        },
      }),
    );
  }
  const cfg = parse(readFileSync(AGENT, 'utf8'));
  for (const name of ['load_balancing/traces', 'load_balancing/logs', 'load_balancing/metrics']) {
    cfg.exporters[name].resolver = { static: { hostnames: gateways.map((g) => g.otlpGrpcEndpoint) } };
  }
  const agentConfig = join(dir, 'agent.yaml');
  writeFileSync(agentConfig, stringify(cfg));
  agent = await startCollector({ configs: [agentConfig] });
}, 120_000);

afterAll(async () => {
  await agent?.cleanup();
  await Promise.all(gateways.map((g) => g.cleanup()));
  await Promise.all(sinks.map((s) => s.cleanup()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

type OtlpAttribute = { key: string; value: Record<string, unknown> };

async function sendSpan(
  traceId: string,
  spanId: string,
  parentSpanId: string | undefined,
  name: string,
  more: { status?: { code: number }; attributes?: OtlpAttribute[] } = {},
) {
  const t = String(BigInt(Date.now()) * 1_000_000n);
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'gateway-e2e' } }] },
        scopeSpans: [
          {
            scope: { name: 'gateway-test' },
            spans: [
              {
                traceId,
                spanId,
                ...(parentSpanId ? { parentSpanId } : {}),
                name,
                kind: parentSpanId ? 3 : 2,
                startTimeUnixNano: t,
                endTimeUnixNano: t,
                ...(more.status ? { status: more.status } : {}),
                attributes: more.attributes ?? [{ key: 'http.route', value: { stringValue: '/r' } }],
              },
            ],
          },
        ],
      },
    ],
  };
  const r = await fetch(`${agent?.otlpHttpUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(r.status).toBe(200);
}

it('routes every span of a trace to one gateway and spreads traces over both', async () => {
  const TRACES = 40;
  const SPANS = 4;
  const traceIds = Array.from(
    { length: TRACES },
    (_, i) => `${hex(0xe2e0000 + i, 16)}${hex(i * 7919 + 1, 16)}`,
  );
  // Interleave: span k of every trace, then span k+1 of every trace, each its own request.
  for (let k = 0; k < SPANS; k++) {
    for (const [i, traceId] of traceIds.entries()) {
      const spanId = hex((i + 1) * 16 + k, 16);
      const parent = k === 0 ? undefined : hex((i + 1) * 16, 16);
      await sendSpan(traceId, spanId, parent, k === 0 ? 'GET /r' : `child ${k}`);
    }
  }
  const wanted = new Set(traceIds);
  await waitFor(
    () => sinks.flatMap((s) => s.spans()).filter((s) => wanted.has(s.traceId)).length >= TRACES * SPANS,
    { timeoutMs: 60_000, intervalMs: 500, what: `${TRACES * SPANS} spans behind the gateways` },
  );
  const perSink = sinks.map((s) => new Set(s.spans().map((x) => x.traceId)));
  for (const id of traceIds) {
    const holders = perSink.filter((set) => set.has(id)).length;
    expect(`${id}: ${holders}`).toBe(`${id}: 1`);
  }
  for (const set of perSink) expect([...set].filter((id) => wanted.has(id)).length).toBeGreaterThan(0);
  // Each gateway sees whole traces: every trace has all its spans at its one gateway.
  for (const s of sinks) {
    const counts = new Map<string, number>();
    for (const x of s.spans())
      if (wanted.has(x.traceId)) counts.set(x.traceId, (counts.get(x.traceId) ?? 0) + 1);
    for (const [id, n] of counts) expect(`${id}: ${n}`).toBe(`${id}: ${SPANS}`);
  }
});

it('cleans spans as the single-collector config does: query-string secrets stripped, old semconv names mapped', async () => {
  const traceId = `${hex(0xe2e5ec7, 16)}${hex(1, 16)}`;
  await sendSpan(traceId, hex(0x5ec7, 16), undefined, 'GET /search', {
    status: { code: 2 },
    attributes: [
      { key: 'url.full', value: { stringValue: 'http://api/search?q=x&token=s3cr3t-value' } },
      { key: 'http.method', value: { stringValue: 'GET' } },
      { key: 'http.status_code', value: { intValue: 503 } },
      { key: 'http.request.header.authorization', value: { stringValue: 'Basic dXNlcjpwYXNz' } },
    ],
  });
  const span = await waitFor(() => sinks.flatMap((s) => s.spans()).find((s) => s.traceId === traceId), {
    timeoutMs: 60_000,
    intervalMs: 500,
    what: 'the span behind a gateway',
  });
  expect(JSON.stringify(span.attributes)).not.toContain('s3cr3t-value');
  expect(span.attributes['http.request.header.authorization']).toBeUndefined();
  expect(span.attributes['http.request.method']).toBe('GET');
  expect(Number(span.attributes['http.response.status_code'])).toBe(503);
});
