/**
 * Per-call cost of one log record, side by side:
 *   - plain winston `combine(timestamp(), json())` + Console transport (the baseline)
 *   - @mem0-stack/logging, stdout only (with correlation stamping and redaction)
 *   - @mem0-stack/logging, stdout + OTel bridge into a real LoggerProvider
 *     (BatchLogRecordProcessor; the exporter encodes each batch to OTLP/JSON and discards it)
 *   - winston + upstream OpenTelemetryTransportV3 (reference for the bridge)
 *   - pino (the speed yardstick)
 * Every variant runs in its own child process whose stdout is /dev/null, so each pays the
 * same real write(2) per line. Rounds alternate the order; medians are reported.
 *
 * Run: npm run bench -w @mem0-stack/logging   (BENCH_ROUNDS, BENCH_CALLS to tune)
 */
import { execFileSync, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error plain .mjs helper without types
import { writeSection } from '../../../scripts/bench-report.mjs';

const VARIANTS = ['winston', 'ours-stdout', 'ours-bridge', 'winston-otel-transport', 'pino'] as const;
type Variant = (typeof VARIANTS)[number];
const LABEL: Record<Variant, string> = {
  winston: 'plain winston `combine(timestamp(), json())` → Console (baseline)',
  'ours-stdout': '@mem0-stack/logging, stdout only',
  'ours-bridge': '@mem0-stack/logging, stdout + OTel bridge',
  'winston-otel-transport': 'plain winston + upstream OpenTelemetryTransportV3 (reference)',
  pino: 'pino (yardstick)',
};

// The compiled package, as users run it (tsx's on-the-fly output differs from tsc's).
const DIST = join(__dirname, '..', 'dist', 'index.js');
const CALLS = Number(process.env.BENCH_CALLS ?? 60_000);
const WARMUP = 20_000;
const CHUNK = 500;

/** usPerCall is CPU time (user+system of this process) per call: on a shared machine it is far
 * steadier than wall time, which is reported too. */
type Result = { variant: Variant; usPerCall: number; wallUsPerCall: number; otelRecords?: number };

// ---------------------------------------------------------------- child side
async function worker(variant: Variant): Promise<void> {
  const fields = (i: number) => ({
    orderId: i,
    userId: 'u_1234',
    amount: 42.5,
    currency: 'EUR',
    items: 3,
    customer: { plan: 'pro', country: 'DE' },
  });
  let log: (i: number) => void;
  let exported = 0;
  let finish: () => Promise<{ otelRecords?: number; dropped?: number }> = async () => ({});

  const setupSdk = async () => {
    const { logs } = await import('@opentelemetry/api-logs');
    const { BatchLogRecordProcessor, LoggerProvider } = await import('@opentelemetry/sdk-logs');
    const { JsonLogsSerializer } = await import('@opentelemetry/otlp-transformer');
    const exporter = {
      export(
        batch: Parameters<typeof JsonLogsSerializer.serializeRequest>[0],
        done: (r: { code: number }) => void,
      ) {
        // Real OTLP/JSON encoding of the batch; only the network hop is left out.
        JsonLogsSerializer.serializeRequest(batch);
        exported += batch.length;
        done({ code: 0 }); // ExportResultCode.SUCCESS
      },
      async shutdown() {},
      async forceFlush() {},
    };
    const provider = new LoggerProvider({
      processors: [
        new BatchLogRecordProcessor({
          exporter,
          maxQueueSize: 65_536,
          maxExportBatchSize: 512,
          scheduledDelayMillis: 50,
        }),
      ],
    });
    logs.setGlobalLoggerProvider(provider);
    return provider;
  };

  if (variant === 'winston' || variant === 'winston-otel-transport') {
    const { default: winston } = await import('winston');
    const transports: import('winston-transport')[] = [new winston.transports.Console()];
    if (variant === 'winston-otel-transport') {
      const provider = await setupSdk();
      const { OpenTelemetryTransportV3 } = await import('@opentelemetry/winston-transport');
      transports.push(new OpenTelemetryTransportV3());
      finish = async () => {
        await provider.forceFlush();
        return { otelRecords: exported };
      };
    }
    const w = winston.createLogger({
      format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      transports,
    });
    log = (i) => {
      w.info('order placed', fields(i));
    };
  } else if (variant === 'pino') {
    const { default: pino } = await import('pino');
    const p = pino();
    log = (i) => p.info(fields(i), 'order placed');
  } else {
    const provider = variant === 'ours-bridge' ? await setupSdk() : undefined;
    const { createLogger } = (await import(DIST)) as typeof import('../src/index');
    const l = createLogger({ otlp: variant === 'ours-bridge' });
    log = (i) => {
      l.info('order placed', fields(i));
    };
    if (provider) {
      finish = async () => {
        await provider.forceFlush();
        return { otelRecords: exported };
      };
    }
  }

  const { runWithCorrelation } = (await import(DIST)) as typeof import('../src/index');
  // Every variant runs inside the same request-like AsyncLocalStorage scope.
  await runWithCorrelation('bench-request-1', async () => {
    const yieldNow = () => new Promise<void>((r) => setImmediate(r));
    for (let i = 0; i < WARMUP; i++) {
      log(i);
      if (i % CHUNK === 0) await yieldNow();
    }
    let ns = 0n;
    let cpuUs = 0;
    for (let done = 0; done < CALLS; done += CHUNK) {
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (let i = done; i < done + CHUNK; i++) log(i);
      ns += process.hrtime.bigint() - t0;
      const c = process.cpuUsage(c0);
      cpuUs += c.user + c.system;
      // Let batch processors and stream callbacks run, as they would between requests.
      await yieldNow();
    }
    const extra = await finish();
    const result: Result = {
      variant,
      usPerCall: cpuUs / CALLS,
      wallUsPerCall: Number(ns) / CALLS / 1000,
      ...extra,
    };
    process.stderr.write(`RESULT ${JSON.stringify(result)}\n`);
  });
}

// ---------------------------------------------------------------- parent side
function runChild(variant: Variant): Promise<Result> {
  return new Promise((resolve, reject) => {
    const devnull = openSync('/dev/null', 'w');
    const child = spawn(process.execPath, [...process.execArgv, __filename, 'worker', variant], {
      stdio: ['ignore', devnull, 'pipe'],
      env: { ...process.env, MEM0_LOG_LEVEL: 'info', MEM0_LOG_FORMAT: 'json' },
    });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = err.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`${variant} failed (${code}): ${err.slice(-2000)}`));
      else resolve(JSON.parse(line.slice(7)) as Result);
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', join(__dirname, '..')], {
    stdio: 'inherit',
  });
  const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
  const samples = new Map<Variant, Result[]>(VARIANTS.map((v) => [v, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const v of order) {
      const res = await runChild(v);
      samples.get(v)?.push(res);
      process.stdout.write(
        `round ${r + 1}/${rounds} ${v.padEnd(24)} ${res.usPerCall.toFixed(2)} µs CPU/call (wall ${res.wallUsPerCall.toFixed(2)})\n`,
      );
    }
  }
  const med = new Map(VARIANTS.map((v) => [v, median((samples.get(v) ?? []).map((s) => s.usPerCall))]));
  const base = med.get('winston') as number;
  const wallBase = median((samples.get('winston') ?? []).map((s) => s.wallUsPerCall));
  const rows = VARIANTS.map((v) => {
    const xs = (samples.get(v) ?? []).map((s) => s.usPerCall);
    const m = med.get(v) as number;
    const otel = samples.get(v)?.[0]?.otelRecords;
    const wall = median((samples.get(v) ?? []).map((s) => s.wallUsPerCall));
    return `| ${LABEL[v]} | ${m.toFixed(2)} | ${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)} | **${(m / base).toFixed(2)}×** | ${wall.toFixed(2)} (${(wall / wallBase).toFixed(2)}×) |${otel === undefined ? ' — ' : ` ${otel} `}|`;
  });
  const ratioStdout = (med.get('ours-stdout') as number) / base;
  const ratioBridge = (med.get('ours-bridge') as number) / base;
  const verdict = (ratio: number, target: number) =>
    ratio <= target
      ? `met (${ratio.toFixed(2)}× ≤ ${target}×)`
      : `**missed** (${ratio.toFixed(2)}× > ${target}×)`;
  const md = [
    `One \`info\` record with 6 fields (one nested object) inside an AsyncLocalStorage correlation scope; ${CALLS.toLocaleString('en')} measured calls per run after ${WARMUP.toLocaleString('en')} warm-up calls, ${rounds} rounds, alternating order, each run in a fresh process with stdout → /dev/null (a real write(2) per line). Cost is the process's CPU time (user + system) over the measured calls — steadier than wall time on a shared machine; wall time is shown too. The OTLP variants use a real LoggerProvider with a BatchLogRecordProcessor whose exporter encodes every batch to OTLP/JSON and discards it (the network hop is the exporter's, not the bridge's).`,
    '',
    '| variant | median CPU µs/call | range | vs plain winston | median wall µs/call (ratio) | OTel records exported (1st run) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Targets: ours stdout-only ≤ 1.0× plain winston — ${verdict(ratioStdout, 1.0)}; with the OTel bridge ≤ 1.5× — ${verdict(ratioBridge, 1.5)}.`,
    '',
    'Reproduce: `npm run bench -w @mem0-stack/logging` (BENCH_ROUNDS, BENCH_CALLS to change the run size).',
  ].join('\n');
  process.stdout.write(`\n${md}\n`);
  writeSection('logging', '@mem0-stack/logging — per-call cost of a log record', md);
}

if (process.argv[2] === 'worker') {
  worker(process.argv[3] as Variant).catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
