import type {
  Attributes,
  AttributeValue,
  Context,
  Exception,
  HrTime,
  Link,
  Span,
  SpanContext,
  SpanKind,
  SpanStatus,
  TimeInput,
} from '@opentelemetry/api';
import { diag, SpanStatusCode } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace';

/** The span limits the SDK would apply (OTEL_SPAN_*_LIMIT, OTEL_ATTRIBUTE_*_LIMIT). */
export type LeanSpanLimits = {
  attributeValueLengthLimit: number;
  attributeCountLimit: number;
  eventCountLimit: number;
  linkCountLimit: number;
  attributePerEventCountLimit: number;
  attributePerLinkCountLimit: number;
};

/** What every span of one tracer provider shares (one object, not a copy per span). */
export type LeanSpanShared = {
  readonly limits: LeanSpanLimits;
  readonly processor: SpanProcessor;
  readonly resource: Resource;
};

const NANOS_PER_MS = 1e6;

// The SDK converts a performance timestamp with an offset measured at every span start (a
// Date.now() and a subtraction per span) so span times follow the wall clock if it is
// adjusted while the process runs. Measuring it at most once a second gives the same
// guarantee at the resolution anyone can observe, for a fraction of the calls.
let offsetMs = 0;
let offsetAt = Number.NEGATIVE_INFINITY;
function epochOffset(perfNow: number): number {
  if (perfNow - offsetAt > 1000) {
    offsetAt = perfNow;
    offsetMs = Date.now() - perfNow;
  }
  return offsetMs;
}

function msToHrDuration(ms: number): HrTime {
  const ns = Math.round(ms * NANOS_PER_MS);
  return [Math.trunc(ns / 1e9), ns % 1e9];
}

/** Epoch milliseconds (fractional) to [seconds, nanoseconds], as the SDK's millisToHrTime. */
function toHrTime(epochMs: number): HrTime {
  const seconds = Math.trunc(epochMs / 1000);
  const nanos = Math.round((epochMs - seconds * 1000) * NANOS_PER_MS);
  return nanos >= 1e9 ? [seconds + 1, nanos - 1e9] : [seconds, nanos];
}

function isHrTime(t: unknown): t is HrTime {
  return Array.isArray(t) && t.length === 2 && typeof t[0] === 'number' && typeof t[1] === 'number';
}

function isPrimitive(t: string): boolean {
  return t === 'string' || t === 'number' || t === 'boolean';
}

/** The SDK's isAttributeValue: a primitive, or an array of one primitive type (nulls allowed). */
export function isAttributeValue(v: unknown): boolean {
  if (v == null) return true;
  if (!Array.isArray(v)) return isPrimitive(typeof v);
  let type: string | undefined;
  for (const el of v) {
    if (el == null) continue;
    const t = typeof el;
    if (t === type) continue;
    if (type !== undefined || !isPrimitive(t)) return false;
    type = t;
  }
  return true;
}

/**
 * A recording span with the SDK's semantics (span limits, attribute validation and
 * truncation, status rules, exception events, end-once) and its ReadableSpan shape, so any
 * SpanProcessor or exporter accepts it, at a fraction of the SDK span's cost per request:
 * times are kept as one performance timestamp and converted only when read, attributes are
 * validated in place instead of copied, and the per-span wall-clock offset is shared.
 */
export class LeanSpan implements Span, ReadableSpan {
  name: string;
  readonly kind: SpanKind;
  readonly parentSpanContext: SpanContext | undefined;
  readonly attributes: Attributes = {};
  readonly links: Link[] = [];
  readonly events: TimedEvent[] = [];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  readonly instrumentationScope: InstrumentationScope;
  private readonly _ctx: SpanContext;
  private readonly _shared: LeanSpanShared;
  /** performance.now() at start, or NaN when the caller gave an explicit start time. */
  private readonly _perfStart: number;
  private readonly _startMs: number;
  /** Milliseconds from start to end; -1 until end() has measured it. */
  private _durMs = -1;
  /** Set once the processors' onEnding has run: the span no longer records. */
  private _done = false;
  private _startTime: HrTime | undefined;
  private _endTime: HrTime | undefined;
  private _attributeCount = 0;
  private _droppedAttributes = 0;
  private _droppedEvents = 0;
  private _droppedLinks = 0;

  constructor(
    shared: LeanSpanShared,
    scope: InstrumentationScope,
    spanContext: SpanContext,
    name: string,
    kind: SpanKind,
    parent: SpanContext | undefined,
    startTime: TimeInput | undefined,
  ) {
    this._shared = shared;
    this.instrumentationScope = scope;
    this._ctx = spanContext;
    this.name = name;
    this.kind = kind;
    this.parentSpanContext = parent;
    const now = performance.now();
    if (startTime === undefined) {
      this._perfStart = now;
      this._startMs = now + epochOffset(now);
    } else {
      this._perfStart = Number.NaN;
      this._startMs = toEpochMs(startTime, now);
      // An HrTime given by the caller is kept exactly, as the SDK does.
      if (isHrTime(startTime)) this._startTime = startTime;
    }
  }

  get resource(): Resource {
    return this._shared.resource;
  }

  spanContext(): SpanContext {
    return this._ctx;
  }

  isRecording(): boolean {
    return !this._done;
  }

  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (value == null || this._ended()) return this;
    if (typeof key !== 'string' || key.length === 0) {
      diag.warn(`Invalid attribute key: ${key}`);
      return this;
    }
    if (!isAttributeValue(value)) {
      diag.warn(`Invalid attribute value set for key: ${key}`);
      return this;
    }
    const attrs = this.attributes;
    // An own-property test, as the SDK: `attrs[key]` would find Object.prototype's members
    // ('constructor', 'toString'…) and let such keys past the count limit.
    if (!Object.hasOwn(attrs, key)) {
      if (this._attributeCount >= this._shared.limits.attributeCountLimit) {
        this._droppedAttributes++;
        return this;
      }
      this._attributeCount++;
    }
    attrs[key] = this._truncate(value);
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) {
      if (Object.hasOwn(attributes, key)) this.setAttribute(key, attributes[key]);
    }
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this._ended()) return this;
    const { eventCountLimit, attributePerEventCountLimit } = this._shared.limits;
    if (eventCountLimit === 0) {
      diag.warn('No events allowed.');
      this._droppedEvents++;
      return this;
    }
    if (this.events.length >= eventCountLimit) {
      if (this._droppedEvents === 0) diag.debug('Dropping extra events.');
      this.events.shift();
      this._droppedEvents++;
    }
    let attributes: Attributes | undefined;
    if (isTimeInput(attributesOrTime)) {
      if (!isTimeInput(time)) time = attributesOrTime;
    } else attributes = attributesOrTime;
    const { kept, dropped } = this._limitAttributes(attributes, attributePerEventCountLimit);
    this.events.push({ name, attributes: kept, time: this._timeOf(time), droppedAttributesCount: dropped });
    return this;
  }

  addLink(link: Link): this {
    if (this._ended()) return this;
    const { linkCountLimit, attributePerLinkCountLimit } = this._shared.limits;
    if (linkCountLimit === 0) {
      this._droppedLinks++;
      return this;
    }
    if (this.links.length >= linkCountLimit) {
      if (this._droppedLinks === 0) diag.debug('Dropping extra links.');
      this.links.shift();
      this._droppedLinks++;
    }
    const { kept, dropped, count } = this._limitAttributes(link.attributes, attributePerLinkCountLimit);
    const out: Link = { context: link.context };
    if (count > 0) out.attributes = kept;
    if (dropped > 0) out.droppedAttributesCount = dropped;
    this.links.push(out);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this._ended()) return this;
    if (status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    const next: SpanStatus = { code: status.code };
    if (status.code === SpanStatusCode.ERROR) {
      if (typeof status.message === 'string') next.message = status.message;
      else if (status.message != null)
        diag.warn(`Dropping invalid status.message of type '${typeof status.message}', expected 'string'`);
    }
    this.status = next;
    return this;
  }

  updateName(name: string): this {
    if (!this._ended()) this.name = name;
    return this;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') attributes['exception.message'] = exception;
    else if (exception) {
      if (exception.code) attributes['exception.type'] = exception.code.toString();
      else if (exception.name) attributes['exception.type'] = exception.name;
      if (exception.message) attributes['exception.message'] = exception.message;
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack;
    }
    if (attributes['exception.type'] || attributes['exception.message'])
      this.addEvent('exception', attributes, time);
    else diag.warn(`Failed to record an exception ${exception}`);
  }

  end(endTime?: TimeInput): void {
    if (this._durMs >= 0) {
      diag.error(
        `${this.name} ${this._ctx.traceId}-${this._ctx.spanId} - You can only call end() on a span once.`,
      );
      return;
    }
    let dur: number;
    if (endTime === undefined && !Number.isNaN(this._perfStart)) dur = performance.now() - this._perfStart;
    else {
      dur = this._epochOf(endTime) - this._startMs;
      if (isHrTime(endTime)) {
        // Compared as HrTime, as the SDK does: epoch milliseconds in a double are ~240 ns
        // coarse, so an end a few ns before the start would pass a `dur >= 0` test.
        const [s, n] = this.startTime;
        if (endTime[0] > s || (endTime[0] === s && endTime[1] >= n)) {
          this._endTime = endTime;
          if (dur < 0) dur = 0;
        } else dur = -1;
      }
    }
    if (dur < 0) {
      diag.warn('Inconsistent start and end time, startTime > endTime. Setting span duration to 0ms.');
      dur = 0;
    }
    if (this._droppedEvents > 0)
      diag.warn(`Dropped ${this._droppedEvents} events because eventCountLimit reached`);
    if (this._droppedLinks > 0)
      diag.warn(`Dropped ${this._droppedLinks} links because linkCountLimit reached`);
    const p = this._shared.processor;
    // End time and duration are readable from onEnding (the SDK sets them before calling it),
    // while the span still records until onEnding returns.
    this._durMs = dur;
    p.onEnding?.(this);
    this._done = true;
    p.onEnd(this);
  }

  get startTime(): HrTime {
    this._startTime ??= toHrTime(this._startMs);
    return this._startTime;
  }

  get endTime(): HrTime {
    if (this._durMs < 0) return [0, 0];
    if (this._endTime === undefined) {
      // start + duration in HrTime arithmetic: the duration keeps its full precision.
      const [s, n] = this.startTime;
      const [ds, dn] = msToHrDuration(this._durMs);
      const nanos = n + dn;
      this._endTime = nanos >= 1e9 ? [s + ds + 1, nanos - 1e9] : [s + ds, nanos];
    }
    return this._endTime;
  }

  get duration(): HrTime {
    if (this._durMs < 0) return [-1, -1];
    const [es, en] = this.endTime;
    const [ss, sn] = this.startTime;
    return en >= sn ? [es - ss, en - sn] : [es - ss - 1, en - sn + 1e9];
  }

  get ended(): boolean {
    return this._done;
  }

  get droppedAttributesCount(): number {
    return this._droppedAttributes;
  }

  get droppedEventsCount(): number {
    return this._droppedEvents;
  }

  get droppedLinksCount(): number {
    return this._droppedLinks;
  }

  private _ended(): boolean {
    if (!this._done) return false;
    const { traceId, spanId } = this._ctx;
    diag.warn(
      `Cannot execute the operation on ended Span {traceId: ${traceId}, spanId: ${spanId}}`,
      new Error(`Operation attempted on ended Span {traceId: ${traceId}, spanId: ${spanId}}`),
    );
    return true;
  }

  private _truncate(value: AttributeValue): AttributeValue {
    const limit = this._shared.limits.attributeValueLengthLimit;
    if (limit <= 0 || limit === Number.POSITIVE_INFINITY) return value;
    if (typeof value === 'string') return value.length <= limit ? value : value.substring(0, limit);
    if (Array.isArray(value))
      return value.map((v) =>
        typeof v === 'string' && v.length > limit ? v.substring(0, limit) : v,
      ) as AttributeValue;
    return value;
  }

  /** The SDK's event/link attribute handling: sanitised, capped, truncated, counted. */
  private _limitAttributes(
    attributes: Attributes | undefined,
    limit: number,
  ): { kept: Attributes; dropped: number; count: number } {
    const kept: Attributes = {};
    let dropped = 0;
    let count = 0;
    if (attributes == null || typeof attributes !== 'object') return { kept, dropped, count };
    for (const key in attributes) {
      if (!Object.hasOwn(attributes, key)) continue;
      if (key === '') {
        diag.warn(`Invalid attribute key: ${key}`);
        continue;
      }
      const value = attributes[key];
      if (!isAttributeValue(value)) {
        diag.warn(`Invalid attribute value set for key: ${key}`);
        continue;
      }
      if (count >= limit) {
        dropped++;
        continue;
      }
      kept[key] = value == null ? value : this._truncate(Array.isArray(value) ? value.slice() : value);
      count++;
    }
    return { kept, dropped, count };
  }

  /** An event's or the end's time: explicit input, else measured from the start. */
  private _epochOf(input: TimeInput | undefined): number {
    const now = performance.now();
    if (input !== undefined) return toEpochMs(input, now);
    // With an explicit start time the monotonic duration cannot be used (SDK rule).
    if (Number.isNaN(this._perfStart)) return Date.now();
    return this._startMs + (now - this._perfStart);
  }

  private _timeOf(input: TimeInput | undefined): HrTime {
    if (isHrTime(input)) return input;
    return toHrTime(this._epochOf(input));
  }
}

/** The SDK's TimeInput rules: a performance timestamp (≤ now), epoch ms, a Date, or HrTime. */
function toEpochMs(input: TimeInput, perfNow: number): number {
  if (typeof input === 'number') return input <= perfNow ? input + epochOffset(perfNow) : input;
  if (input instanceof Date) return input.getTime();
  if (isHrTime(input)) return input[0] * 1000 + input[1] / NANOS_PER_MS;
  return perfNow + epochOffset(perfNow);
}

function isTimeInput(v: unknown): v is TimeInput {
  return typeof v === 'number' || v instanceof Date || isHrTime(v);
}

/** Processors of a provider behind one SpanProcessor (the SDK's MultiSpanProcessor, minus its per-span array walk when there is one). */
export function combineProcessors(processors: readonly SpanProcessor[]): SpanProcessor {
  if (processors.length === 1) return processors[0] as SpanProcessor;
  return {
    onStart(span: Span & ReadableSpan, ctx: Context) {
      for (const p of processors) p.onStart(span as never, ctx);
    },
    onEnding(span: Span) {
      for (const p of processors) p.onEnding?.(span as never);
    },
    onEnd(span: ReadableSpan) {
      for (const p of processors) p.onEnd(span);
    },
    forceFlush: async () => {
      await Promise.all(processors.map((p) => p.forceFlush()));
    },
    shutdown: async () => {
      await Promise.all(processors.map((p) => p.shutdown()));
    },
  } as SpanProcessor;
}
