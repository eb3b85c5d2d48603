import type { LoggerProvider, LogRecord, Logger as OtelLogger } from '@opentelemetry/api-logs';
import { logs } from '@opentelemetry/api-logs';
import { OpenTelemetryTransportV3 } from '@opentelemetry/winston-transport';
import { countDropped } from './metrics';
import { OTEL_API_RECORD, OTEL_RECORD } from './recordFormat';
import { STAMP, type Stamp } from './stamp';
import { OWN_TRANSPORT } from './stdoutTransport';

/** Marks our bridge so the cleanup that removes the instrumentation's transport keeps it. */
export const BRIDGE_BRAND = Symbol.for('@mem0-stack/logging.bridge');

const SCOPE = '@mem0-stack/logging';
// Read once; only used as the instrumentation scope version.
const VERSION = '0.1.0';

/**
 * The OTel log bridge: upstream's OpenTelemetryTransportV3 (severity mapping, event name,
 * exception attributes) fed with the record our format already redacted, the context
 * captured at `log()` time (so the trace id is the caller's even when winston runs the
 * transport later), and the same timestamp as the stdout line. Records for which upstream
 * would only copy what the format built (no exception to derive, an npm level) arrive as the
 * Logs API record itself (OTEL_API_RECORD) and are emitted as they are.
 */
export class OtelBridgeTransport extends OpenTelemetryTransportV3 {
  readonly [BRIDGE_BRAND] = true;
  readonly [OWN_TRANSPORT] = true;
  /**
   * Whether the format may hand over Logs API records directly. `false` sends every record
   * through upstream's emitLogRecord (the path before; kept for comparisons in tests and
   * benchmarks).
   */
  direct = true;
  private provider: LoggerProvider | undefined;
  private target: OtelLogger | undefined;
  private pending: Stamp | undefined;

  constructor(opts: { level?: string } = {}) {
    super(opts);
    // Upstream emits through `this._logger`; route it through a shim that resolves the
    // global provider on each record (it may be registered after this logger was created,
    // by another copy of the API) and adds the call-time timestamp upstream does not set.
    (this as unknown as { _logger: Pick<OtelLogger, 'emit'> })._logger = {
      emit: (rec: LogRecord) => this.emitNow(rec),
    };
  }

  private logger(): OtelLogger {
    const provider = logs.getLoggerProvider();
    if (provider !== this.provider || !this.target) {
      this.provider = provider;
      this.target = provider.getLogger(SCOPE, VERSION);
    }
    return this.target;
  }

  private emitNow(rec: LogRecord): void {
    const target = this.logger();
    const stamp = this.pending;
    if (stamp) {
      rec.timestamp = stamp.time;
      rec.observedTimestamp = Date.now();
    }
    target.emit(rec);
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    const direct = info[OTEL_API_RECORD] as LogRecord | undefined;
    if (direct) {
      try {
        direct.observedTimestamp = Date.now();
        this.logger().emit(direct);
      } catch {
        countDropped();
      }
      this.emit('logged', info);
      callback();
      return;
    }
    // The format already built the upstream-shaped record (redacted attributes, body, level,
    // context, exception, event name) in its single pass; hand it over as is.
    const rec = info[OTEL_RECORD] as Record<string | symbol, unknown> | undefined;
    if (!rec) {
      callback();
      return;
    }
    this.pending = info[STAMP] as Stamp | undefined;
    try {
      super.log(rec, callback);
    } catch {
      countDropped();
      callback();
    } finally {
      this.pending = undefined;
    }
  }
}

/**
 * False while no LoggerProvider is registered globally (SDK disabled, no preload): the API
 * then hands out its proxy, whose records go nowhere, so the format can skip building them.
 * Checked by constructor name so another copy of @opentelemetry/api-logs is recognised too.
 */
export function otelLogsActive(): boolean {
  return logs.getLoggerProvider().constructor?.name !== 'ProxyLoggerProvider';
}

/** True for any OpenTelemetryTransportV3 that is not ours (e.g. added by instrumentation-winston), across package copies. */
export function isForeignOtelTransport(t: unknown): boolean {
  if (!t || typeof t !== 'object' || (t as Record<symbol, unknown>)[BRIDGE_BRAND]) return false;
  for (let p = Object.getPrototypeOf(t); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (p.constructor?.name === 'OpenTelemetryTransportV3') return true;
  }
  return false;
}
