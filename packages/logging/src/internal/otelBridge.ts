import type { LoggerProvider, LogRecord, Logger as OtelLogger } from '@opentelemetry/api-logs';
import { logs } from '@opentelemetry/api-logs';
import { OpenTelemetryTransportV3 } from '@opentelemetry/winston-transport';
import { countDropped } from './metrics';
import { ATTRS, BODY, ERROR } from './recordFormat';
import { STAMP, type Stamp } from './stamp';
import { LEVEL } from './symbols';

/** Marks our bridge so the cleanup that removes the instrumentation's transport keeps it. */
export const BRIDGE_BRAND = Symbol.for('@mem0-stack/logging.bridge');
const OTEL_CONTEXT_SYMBOL = Symbol.for('opentelemetry.js.contrib.winston.context');

const SCOPE = '@mem0-stack/logging';
// Read once; only used as the instrumentation scope version.
const VERSION = '0.1.0';

/**
 * The OTel log bridge: upstream's OpenTelemetryTransportV3 (severity mapping, event name,
 * exception attributes) fed with the record our format already redacted, the context
 * captured at `log()` time (so the trace id is the caller's even when winston runs the
 * transport later), and the same timestamp as the stdout line.
 */
export class OtelBridgeTransport extends OpenTelemetryTransportV3 {
  readonly [BRIDGE_BRAND] = true;
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

  private emitNow(rec: LogRecord): void {
    const provider = logs.getLoggerProvider();
    if (provider !== this.provider || !this.target) {
      this.provider = provider;
      this.target = provider.getLogger(SCOPE, VERSION);
    }
    const stamp = this.pending;
    if (stamp) {
      rec.timestamp = stamp.time;
      rec.observedTimestamp = Date.now();
    }
    this.target.emit(rec);
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    const stamp = info[STAMP] as Stamp | undefined;
    const attrs = (info[ATTRS] as Record<string, unknown> | undefined) ?? {};
    const rec: Record<string | symbol, unknown> = { ...attrs };
    rec.message = info[BODY] ?? '';
    rec[LEVEL] = info[LEVEL];
    if (stamp) rec[OTEL_CONTEXT_SYMBOL] = stamp.ctx;
    const err = info[ERROR] as
      | { type?: unknown; message?: unknown; stack?: unknown; code?: unknown }
      | undefined;
    if (err) rec.error = { name: err.type, message: err.message, stack: err.stack, code: err.code };
    const eventName = attrs['event.name'];
    if (typeof eventName === 'string') rec['otel.event.name'] = eventName;
    this.pending = stamp;
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

/** True for any OpenTelemetryTransportV3 that is not ours (e.g. added by instrumentation-winston), across package copies. */
export function isForeignOtelTransport(t: unknown): boolean {
  if (!t || typeof t !== 'object' || (t as Record<symbol, unknown>)[BRIDGE_BRAND]) return false;
  for (let p = Object.getPrototypeOf(t); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (p.constructor?.name === 'OpenTelemetryTransportV3') return true;
  }
  return false;
}
