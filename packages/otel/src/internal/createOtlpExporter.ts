import type { ISerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { OtlpSignalConfig, Signal } from '../readConfig';
import { createHttpTransport } from './createHttpTransport';
import { ownVersion } from './ownVersion';

/** What one export attempt achieved. `rejected` counts items the collector refused (partial success). */
export type ExportOutcome = { ok: true; rejected: number } | { ok: false; error: Error };

/** A minimal exporter: one request per call, no queue of its own (the batch processor bounds work). */
export type OtlpExporter<Req> = {
  readonly signal: Signal;
  export(request: Req): Promise<ExportOutcome>;
  /** Sends a request body that is already encoded in this exporter's protocol. */
  sendEncoded(body: Uint8Array): Promise<ExportOutcome>;
  /** Stops retrying failed requests (shutdown or process exit is near). */
  stopRetrying(): void;
  /** Destroys sockets of requests in flight (they fail and are counted); later exports reconnect. */
  abort(): void;
  shutdown(): Promise<void>;
};

const live = new Set<OtlpExporter<never>>();

/** Every OTLP exporter created so far: the process hooks stop or abort them all at once. */
export function allOtlpExporters(): Iterable<OtlpExporter<never>> {
  return live;
}

type AnySerializer = ISerializer<unknown, unknown>;

const SERIALIZERS: Record<Signal, Record<'json' | 'protobuf', () => AnySerializer>> = {
  traces: {
    // Deep imports keep startup cheap: the package index loads every signal's serializers.
    json: () => require('@opentelemetry/otlp-transformer/build/src/trace/json').JsonTraceSerializer,
    // Our encoder: the same bytes for about half the CPU per span. Responses (partial
    // success) are still decoded by the upstream serializer.
    protobuf: () => {
      const { encodeTraceRequest } = require('./encodeTraces') as typeof import('./encodeTraces');
      return {
        serializeRequest: (spans: unknown) => encodeTraceRequest(spans as ReadableSpan[]),
        deserializeResponse: (data: Uint8Array) =>
          require('@opentelemetry/otlp-transformer/build/src/trace/protobuf').ProtobufTraceSerializer.deserializeResponse(
            data,
          ),
      };
    },
  },
  metrics: {
    json: () => require('@opentelemetry/otlp-transformer/build/src/metrics/json').JsonMetricsSerializer,
    protobuf: () =>
      require('@opentelemetry/otlp-transformer/build/src/metrics/protobuf').ProtobufMetricsSerializer,
  },
  logs: {
    json: () => require('@opentelemetry/otlp-transformer/build/src/logs/json').JsonLogsSerializer,
    protobuf: () => require('@opentelemetry/otlp-transformer/build/src/logs/protobuf').ProtobufLogsSerializer,
  },
};

/**
 * Builds the OTLP/HTTP exporter for one signal from fully resolved settings: nothing here
 * reads the environment again, so a bad variable is reported once (by readConfig) only.
 */
export function createOtlpExporter<Req>(signal: Signal, cfg: OtlpSignalConfig): OtlpExporter<Req> {
  const json = cfg.protocol === 'http/json';
  let serializer: AnySerializer | undefined;
  let transport: ReturnType<typeof createHttpTransport> | undefined;
  let retrying = true;

  const ensure = () => {
    serializer ??= SERIALIZERS[signal][json ? 'json' : 'protobuf']();
    if (!transport) {
      transport = createHttpTransport({
        url: cfg.url,
        headers: cfg.headers,
        compression: cfg.compression,
        contentType: json ? 'application/json' : 'application/x-protobuf',
        userAgent: `mem0-stack-otel/${ownVersion()}`,
        retry: () => retrying,
      });
    }
    return { serializer, transport };
  };

  const exporter: OtlpExporter<Req> = {
    signal,
    async export(request: Req): Promise<ExportOutcome> {
      try {
        const body = ensure().serializer.serializeRequest(request);
        if (!body) return { ok: false, error: new Error('OTLP serializer produced no payload') };
        return await this.sendEncoded(body);
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
      }
    },
    async sendEncoded(body: Uint8Array): Promise<ExportOutcome> {
      try {
        const { serializer: s, transport: t } = ensure();
        const res = await t.send(body, cfg.timeoutMillis);
        if (res.status !== 'success') return { ok: false, error: res.error ?? new Error('export failed') };
        return { ok: true, rejected: res.data && res.data.length > 0 ? rejectedCount(s, res.data) : 0 };
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
      }
    },
    stopRetrying() {
      retrying = false;
      transport?.stopRetrying();
    },
    abort() {
      transport?.shutdown();
      transport = undefined;
    },
    async shutdown() {
      retrying = false;
      transport?.shutdown();
      live.delete(exporter as OtlpExporter<never>);
    },
  };
  live.add(exporter as OtlpExporter<never>);
  return exporter;
}

function rejectedCount(s: AnySerializer, data: Uint8Array): number {
  try {
    const r = s.deserializeResponse(data) as {
      partialSuccess?: {
        rejectedSpans?: unknown;
        rejectedLogRecords?: unknown;
        rejectedDataPoints?: unknown;
      };
    };
    const p = r?.partialSuccess;
    const n = Number(p?.rejectedSpans ?? p?.rejectedLogRecords ?? p?.rejectedDataPoints ?? 0);
    return Number.isFinite(n) && n > 0 ? n : 0;
  } catch {
    return 0;
  }
}
