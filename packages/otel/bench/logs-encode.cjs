/**
 * Cost of the OTLP log path per record: `logger.info()` of @mem0-stack/logging (winston, JSON
 * line to a no-op destination, OTel bridge) → OTLP/protobuf request bytes, for each way the
 * otel package can turn records into bytes. All variants run in this one process, alternating
 * order every round; each measures CPU time (user + system, GC threads included) over the same
 * record sequence inside an active span (so trace ids are set), flushing every 512 records
 * into a capturing exporter (no network). The records are the memory-service's two kinds: a
 * request line (7 attributes) and a business event (4 attributes). Rows add one change each:
 * encoding at emit, no SDK record, no upstream record building in the bridge.
 *
 *   node bench/logs-encode.cjs        (needs `npm run build -w @mem0-stack/otel` and logging's build)
 *   BENCH_ROUNDS=9 BENCH_CALLS=40000  (defaults)      BENCH_WRITE=1 also writes docs/benchmarks.md
 *   BENCH_VARIANTS=direct             only that variant, the floor and the baseline
 */
const { context, trace } = require('@opentelemetry/api');
const { logs } = require('@opentelemetry/api-logs');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { ProtobufLogsSerializer } = require('@opentelemetry/otlp-transformer');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { LoggerProvider } = require('@opentelemetry/sdk-logs');
const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base');
const { createLogger } = require('@mem0-stack/logging');
const { readConfig } = require('../dist/readConfig');
const { createBatchProcessor } = require('../dist/internal/createBatchProcessor');
const { createEncodingLogProcessor } = require('../dist/internal/createEncodingLogProcessor');
const { createEncodingLoggerProvider } = require('../dist/internal/createEncodingLoggerProvider');
const {
  appendLogRecord,
  assembleLogsRequest,
  createEncodedLogBatch,
} = require('../dist/internal/encodeLogs');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const CALLS = Number(process.env.BENCH_CALLS ?? 40_000);
const FLUSH_EVERY = 512;

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider());
const tracer = trace.getTracer('bench');
const { config } = readConfig({});
const batch = { ...config.logs.batch, maxQueueSize: 1_000_000, maxExportBatchSize: 1_000_000 };
const resource = resourceFromAttributes({
  'service.name': 'memory-service',
  'service.version': '1.4.2',
  'deployment.environment': 'bench',
  'host.name': 'bench-host',
  'process.pid': process.pid,
});

/** Counts the bytes of every request body instead of sending it. */
function capture() {
  const out = { bytes: 0, requests: 0 };
  const exporter = {
    signal: 'logs',
    async export(records) {
      // The previous default: upstream's serializer on the batch of SDK records.
      return exporter.sendEncoded(ProtobufLogsSerializer.serializeRequest(records));
    },
    async sendEncoded(body) {
      out.bytes += body.length;
      out.requests++;
      return { ok: true, rejected: 0 };
    },
    stopRetrying() {},
    abort() {},
    async shutdown() {},
  };
  return { exporter, out };
}

const VARIANTS = {
  stdout: {
    label: 'no OTel bridge (`otlp: false`): the JSON line only — reference floor',
    build: () => ({ provider: undefined, out: { bytes: 0, requests: 0 } }),
  },
  'sdk-serializer': {
    label: 'SDK LoggerProvider → batch queue of SDK records → upstream ProtobufLogsSerializer (before)',
    build() {
      const { exporter, out } = capture();
      const q = createBatchProcessor({ signal: 'logs', config: batch, exporter });
      const processor = {
        onEmit: (r) => q.add(r),
        forceFlush: () => q.forceFlush(),
        shutdown: () => q.shutdown(),
      };
      return {
        provider: new LoggerProvider({
          resource,
          logRecordLimits: config.logRecordLimits,
          processors: [processor],
        }),
        out,
      };
    },
  },
  'encode-on-emit': {
    label:
      'SDK LoggerProvider → each SDK record encoded in onEmit (createEncodingLogProcessor; next to another exporter)',
    build() {
      const { exporter, out } = capture();
      const processor = createEncodingLogProcessor({ config: batch, exporter, resource });
      return {
        provider: new LoggerProvider({
          resource,
          logRecordLimits: config.logRecordLimits,
          processors: [processor],
        }),
        out,
      };
    },
  },
  direct: {
    label: 'Logs API record → encoded at emit, no SDK record (createEncodingLoggerProvider)',
    build() {
      const { exporter, out } = capture();
      return {
        provider: createEncodingLoggerProvider({
          config: batch,
          exporter,
          resource,
          limits: config.logRecordLimits,
        }),
        out,
      };
    },
  },
  'direct-bridge': {
    label:
      '… and the bridge emits the Logs API record the format built, without upstream emitLogRecord (the default)',
    bridgeRecord: true,
    build() {
      return VARIANTS.direct.build();
    },
  },
};
const BASELINE = 'sdk-serializer';
// BENCH_VARIANTS=a,b runs a subset (e.g. one variant under --cpu-prof); the floor always runs.
const ids = Object.keys(VARIANTS).filter(
  (id) =>
    !process.env.BENCH_VARIANTS ||
    id === 'stdout' ||
    id === BASELINE ||
    process.env.BENCH_VARIANTS.split(',').includes(id),
);

const built = {};
for (const id of ids) {
  const v = VARIANTS[id].build();
  const logger = createLogger({
    destination: { write: () => true },
    otlp: id !== 'stdout',
    service: { name: 'memory-service', version: '1.4.2', environment: 'bench' },
  });
  // @mem0-stack/logging's bridge hands over Logs API records it built itself unless told not
  // to (`direct`, kept for this comparison): every row but the last uses upstream's
  // emitLogRecord, as before.
  const bridge = logger.transports.find((t) => 'direct' in t);
  if (bridge) bridge.direct = VARIANTS[id].bridgeRecord === true;
  built[id] = { ...v, logger };
}

async function run(id, calls) {
  const { provider, logger } = built[id];
  logs.disable();
  if (provider) logs.setGlobalLoggerProvider(provider);
  const span = tracer.startSpan('GET /v1/memories/:id');
  const start = process.cpuUsage();
  await context.with(trace.setSpan(context.active(), span), async () => {
    for (let i = 0; i < calls; i++) {
      if (i % 2 === 0) {
        logger.info('GET /v1/memories/:id 200', {
          'http.request.method': 'GET',
          'http.route': '/v1/memories/:id',
          'http.response.status_code': 200,
          duration_ms: 1.234 + (i % 97) / 10,
          'http.response.body.size': 560 + (i % 13),
          'user_agent.original': 'autocannon',
        });
      } else {
        logger.event('memory.created', { 'memory.id': `m_${i}`, 'user.id': 'u_42', 'memory.tags': 3 });
      }
      if (i % FLUSH_EVERY === FLUSH_EVERY - 1 && provider) await provider.forceFlush();
    }
    if (provider) await provider.forceFlush();
  });
  const cpu = process.cpuUsage(start);
  span.end();
  return (cpu.user + cpu.system) / calls;
}

/** Encoder alone: the same 512 SDK records (the service's mix) to one request, ns per record. */
function encoderRows() {
  const kept = [];
  const provider = new LoggerProvider({
    resource,
    logRecordLimits: config.logRecordLimits,
    processors: [{ onEmit: (r) => kept.push(r), forceFlush: async () => {}, shutdown: async () => {} }],
  });
  logs.disable();
  logs.setGlobalLoggerProvider(provider);
  const logger = createLogger({ destination: { write: () => true }, service: { name: 'memory-service' } });
  const span = tracer.startSpan('req');
  context.with(trace.setSpan(context.active(), span), () => {
    for (let i = 0; i < FLUSH_EVERY; i++) {
      if (i % 2 === 0)
        logger.info('GET /v1/memories/:id 200', { 'http.route': '/v1/memories/:id', duration_ms: i / 7 });
      else logger.event('memory.created', { 'memory.id': `m_${i}`, 'user.id': 'u_42' });
    }
  });
  const encoders = {
    ours: () => {
      const batch = createEncodedLogBatch();
      for (const r of kept) appendLogRecord(batch, r, r.resource, r.instrumentationScope);
      return assembleLogsRequest(batch);
    },
    upstream: () => ProtobufLogsSerializer.serializeRequest(kept),
  };
  const same = Buffer.compare(Buffer.from(encoders.ours()), Buffer.from(encoders.upstream())) === 0;
  const time = (f, reps) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) f();
    return Number(process.hrtime.bigint() - t0) / reps / kept.length;
  };
  const ns = { ours: [], upstream: [] };
  for (let round = 0; round < 3; round++) for (const k of Object.keys(encoders)) time(encoders[k], 20);
  for (let round = 0; round < 2 * ROUNDS; round++) {
    const order = round % 2 ? ['ours', 'upstream'] : ['upstream', 'ours'];
    for (const k of order) ns[k].push(time(encoders[k], 40));
  }
  return { same, ours: median(ns.ours), upstream: median(ns.upstream), n: kept.length };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
};

(async () => {
  for (const id of ids) await run(id, Math.min(CALLS, 20_000)); // warm-up
  for (const id of ids) built[id].out.bytes = built[id].out.requests = 0;
  const samples = Object.fromEntries(ids.map((id) => [id, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = ids.map((_, k) => ids[(k + round) % ids.length]);
    for (const id of order) samples[id].push(await run(id, CALLS));
  }
  const base = median(samples[BASELINE]);
  const floor = median(samples.stdout);
  const rows = ids.map((id) => {
    const m = median(samples[id]);
    const { bytes } = built[id].out;
    return {
      variant: VARIANTS[id].label,
      us: m.toFixed(2),
      range: `${Math.min(...samples[id]).toFixed(2)}–${Math.max(...samples[id]).toFixed(2)}`,
      ratio: `${(m / base).toFixed(2)}×`,
      otlp:
        id === 'stdout' ? '—' : `${(m - floor).toFixed(2)} (${((m - floor) / (base - floor)).toFixed(2)}×)`,
      bytes: id === 'stdout' ? '—' : (bytes / (CALLS * ROUNDS)).toFixed(1),
    };
  });
  const table = [
    '| variant | median CPU µs/record | range | vs before | OTLP part µs/record (vs before) | OTLP bytes/record |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.variant} | ${r.us} | ${r.range} | **${r.ratio}** | ${r.otlp} | ${r.bytes} |`),
  ].join('\n');
  const enc = encoderRows();
  const encTable = [
    '| encoder (same 512 SDK records → one request) | median ns/record | vs upstream |',
    '| --- | ---: | ---: |',
    `| upstream ProtobufLogsSerializer | ${enc.upstream.toFixed(0)} | 1.00× |`,
    `| ours: appendLogRecord × 512 + assembleLogsRequest (bytes identical: ${enc.same ? 'yes' : '**NO**'}) | ${enc.ours.toFixed(0)} | **${(enc.ours / enc.upstream).toFixed(2)}×** |`,
  ].join('\n');
  const text = `${ROUNDS} rounds × ${CALLS.toLocaleString('en')} records per variant, alternating order, one process; CPU time (user + system) per \`logger.info\`/\`logger.event\` call including the flush to bytes every ${FLUSH_EVERY} records. "OTLP part" subtracts the no-bridge floor: the bridge, the SDK and the encoding.\n\n${table}\n\nThe encoder alone, ${2 * ROUNDS} alternating rounds:\n\n${encTable}\n\nReproduce: \`npm run bench:logs -w @mem0-stack/otel\` (\`BENCH_ROUNDS\`, \`BENCH_CALLS\`).`;
  console.log(text);
  if (process.env.BENCH_WRITE) {
    const { writeSection } = await import('../../../scripts/bench-report.mjs');
    writeSection('otel-logs', '@mem0-stack/otel — OTLP log path, per record', text);
  }
})();
