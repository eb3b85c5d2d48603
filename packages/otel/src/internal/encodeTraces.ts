import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import * as wire from './protobufWire';
import { keyValueSize, strSize, varintSize } from './protobufWire';

/**
 * OTLP/protobuf encoder for ExportTraceServiceRequest, tuned for the export path's cost.
 * Same wire format (and field order) as @opentelemetry/otlp-transformer's
 * ProtobufTraceSerializer; the difference is work per span: most attributes of a service's
 * spans repeat (method, scheme, host, route, db.system…), so each distinct key/value pair is
 * encoded once and copied afterwards; ids are written straight from hex; sizes are computed,
 * not shifted into place.
 */

type Scope = ReadableSpan['instrumentationScope'];

const MAX_CACHED_VALUE = 96;
const MAX_VALUES_PER_KEY = 256;
const MAX_KEYS = 512;
/** key → (value → encoded KeyValue field, tag included); null = this key's values do not repeat. */
const kvCache = new Map<string, Map<string | number | boolean, Buffer> | null>();

let buf: Buffer = Buffer.allocUnsafe(64 * 1024);
let pos = 0;

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + n) size *= 2;
  const next = Buffer.allocUnsafe(size);
  buf.copy(next, 0, 0, pos);
  buf = next;
}

// State-bound forms of the shared writers (this encoder writes through module-level buf/pos).
function writeVarint(v: number): void {
  pos = wire.writeVarint(buf, pos, v);
}

function writeStr(s: string, len: number): void {
  pos = wire.writeStr(buf, pos, s, len);
}

function writeHex(hex: string): void {
  pos = wire.writeHex(buf, pos, hex);
}

/** A bytes field holding the bytes of a hex id, whatever its length. */
function writeId(tag: number, hex: string): void {
  const n = hex.length >> 1;
  ensure(n + 6);
  buf[pos++] = tag;
  writeVarint(n);
  writeHex(hex);
}

function writeFixed64Time(t: HrTime): void {
  pos = wire.writeFixed64Time(buf, pos, t);
}

function writeKeyValueBody(key: string, value: unknown, size: number): void {
  pos = wire.writeKeyValueBody(buf, pos, key, value, size);
}

/** Writes one repeated KeyValue field (tag = field << 3 | 2) per attribute. */
function writeAttributes(attrs: Attributes | undefined, tag: number): void {
  if (!attrs) return;
  for (const key in attrs) {
    if (!Object.hasOwn(attrs, key)) continue;
    const value = attrs[key] as AttributeValue | undefined;
    if (value === undefined) continue;
    const t = typeof value;
    if (tag === 0x4a && (t === 'string' || t === 'number' || t === 'boolean')) {
      // Cached path (span attributes only: their tag is fixed).
      let byValue = kvCache.get(key);
      if (byValue === undefined && kvCache.size < MAX_KEYS) {
        byValue = new Map();
        kvCache.set(key, byValue);
      }
      const small = t !== 'string' || (value as string).length <= MAX_CACHED_VALUE;
      if (byValue && small) {
        let enc = byValue.get(value as string | number | boolean);
        if (enc === undefined) {
          const size = keyValueSize(key, value);
          ensure(size + 6);
          const start = pos;
          buf[pos++] = tag;
          writeKeyValueBody(key, value, size);
          enc = Buffer.from(buf.subarray(start, pos));
          if (byValue.size < MAX_VALUES_PER_KEY) byValue.set(value as string | number | boolean, enc);
          else kvCache.set(key, null); // high-cardinality key: stop caching it
          continue;
        }
        ensure(enc.length);
        if (enc.length <= 48) for (let i = 0; i < enc.length; i++) buf[pos + i] = enc[i] as number;
        else enc.copy(buf, pos);
        pos += enc.length;
        continue;
      }
    }
    const size = keyValueSize(key, value);
    ensure(size + 6);
    buf[pos++] = tag;
    writeKeyValueBody(key, value, size);
  }
}

/** Starts a length-delimited field of unknown size: one byte is reserved for its length. */
function open(tag: number): number {
  ensure(2);
  buf[pos++] = tag;
  return pos++;
}

/** Writes the length at `at`, moving the content when it needs more than the reserved byte. */
function close(at: number): void {
  const len = pos - at - 1;
  if (len < 0x80) {
    buf[at] = len;
    return;
  }
  const extra = varintSize(len) - 1;
  ensure(extra);
  buf.copy(buf, at + 1 + extra, at + 1, pos);
  pos += extra;
  const save = pos;
  pos = at;
  writeVarint(len);
  pos = save;
}

function writeSpan(span: ReadableSpan): void {
  const ctx = span.spanContext();
  ensure(160);
  const at = open(0x12);
  buf[pos++] = 0x0a;
  buf[pos++] = 16;
  writeHex(ctx.traceId);
  buf[pos++] = 0x12;
  buf[pos++] = 8;
  writeHex(ctx.spanId);
  const traceState = ctx.traceState?.serialize();
  if (traceState) {
    const n = strSize(traceState);
    ensure(n + 6);
    buf[pos++] = 0x1a;
    writeVarint(n);
    writeStr(traceState, n);
  }
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    // Own room: a long trace state above may have used up the slack of the first ensure.
    ensure(10);
    buf[pos++] = 0x22;
    buf[pos++] = 8;
    writeHex(parent.spanId);
  }
  const nameLen = strSize(span.name);
  ensure(nameLen + 32);
  buf[pos++] = 0x2a;
  writeVarint(nameLen);
  writeStr(span.name, nameLen);
  const kind = span.kind == null ? 0 : span.kind + 1;
  if (kind !== 0) {
    buf[pos++] = 0x30;
    buf[pos++] = kind;
  }
  buf[pos++] = 0x39;
  writeFixed64Time(span.startTime);
  buf[pos++] = 0x41;
  writeFixed64Time(span.endTime);
  writeAttributes(span.attributes, 0x4a);
  ensure(64);
  buf[pos++] = 0x50;
  writeVarint(span.droppedAttributesCount);
  for (const e of span.events) {
    const ea = open(0x5a);
    ensure(16);
    buf[pos++] = 0x09;
    writeFixed64Time(e.time);
    const n = strSize(e.name);
    ensure(n + 6);
    buf[pos++] = 0x12;
    writeVarint(n);
    writeStr(e.name, n);
    writeAttributes(e.attributes, 0x1a);
    ensure(8);
    buf[pos++] = 0x20;
    writeVarint(e.droppedAttributesCount ?? 0);
    close(ea);
  }
  ensure(16);
  buf[pos++] = 0x60;
  writeVarint(span.droppedEventsCount);
  for (const l of span.links) {
    const la = open(0x6a);
    // A link's context is the caller's, unchecked by the API and the SDK: its ids are written
    // with their own length (as upstream does), so a malformed one cannot shift the fields
    // after it and corrupt the whole request.
    writeId(0x0a, l.context.traceId);
    writeId(0x12, l.context.spanId);
    const ts = l.context.traceState?.serialize();
    if (ts) {
      const n = strSize(ts);
      ensure(n + 6);
      buf[pos++] = 0x1a;
      writeVarint(n);
      writeStr(ts, n);
    }
    writeAttributes(l.attributes, 0x22);
    ensure(16);
    buf[pos++] = 0x28;
    writeVarint(l.droppedAttributesCount ?? 0);
    buf[pos++] = 0x35;
    buf.writeUInt32LE(flags(l.context.traceFlags, l.context.isRemote), pos);
    pos += 4;
    close(la);
  }
  ensure(24);
  buf[pos++] = 0x70;
  writeVarint(span.droppedLinksCount);
  // status: message (2, omitted when empty), code (3, always)
  const message = span.status.message;
  const mLen = message ? strSize(message) : 0;
  const statusLen = (mLen > 0 ? 1 + varintSize(mLen) + mLen : 0) + 2;
  // Tag, length varint (up to 5 bytes for a long message), body, then the 6 bytes of flags.
  ensure(1 + varintSize(statusLen) + statusLen + 6);
  buf[pos++] = 0x7a;
  writeVarint(statusLen);
  if (mLen > 0 && message) {
    buf[pos++] = 0x12;
    writeVarint(mLen);
    writeStr(message, mLen);
  }
  buf[pos++] = 0x18;
  buf[pos++] = span.status.code;
  // flags: field 16, fixed32 (tag 133 = 0x85 0x01)
  buf[pos++] = 0x85;
  buf[pos++] = 0x01;
  buf.writeUInt32LE(flags(ctx.traceFlags, parent?.isRemote), pos);
  pos += 4;
  close(at);
}

function flags(traceFlags: number, isRemote: boolean | undefined): number {
  return ((traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0)) >>> 0;
}

function writeScope(scope: Scope): void {
  const at = open(0x0a);
  const n = strSize(scope.name);
  ensure(n + 8);
  buf[pos++] = 0x0a;
  writeVarint(n);
  writeStr(scope.name, n);
  if (scope.version) {
    const v = strSize(scope.version);
    ensure(v + 8);
    buf[pos++] = 0x12;
    writeVarint(v);
    writeStr(scope.version, v);
  }
  const extra = scope as { attributes?: Attributes; droppedAttributesCount?: number };
  writeAttributes(extra.attributes, 0x1a);
  if (extra.droppedAttributesCount) {
    ensure(8);
    buf[pos++] = 0x20;
    writeVarint(extra.droppedAttributesCount);
  }
  close(at);
}

/** Encoded spans of one instrumentation scope, waiting to be sent. */
export type ScopeSection = { scope: Scope; buf: Buffer; pos: number };

/** An open batch: span messages already encoded, grouped by resource then scope. */
export type EncodedBatch = {
  count: number;
  bytes: number;
  groups: Map<ReadableSpan['resource'], Map<Scope, ScopeSection>>;
};

// Section buffers of sent batches, reused by the next ones: a batch's section grows to about
// its final size once, instead of every batch allocating (and copying) its way up from 16 KiB.
const sectionPool: Buffer[] = [];
const MAX_POOLED_SECTIONS = 4;
const MAX_POOLED_SECTION_BYTES = 1024 * 1024;

/**
 * Hands a batch's section buffers back for reuse once its request has been assembled (the
 * request is a copy). The batch must not be assembled again.
 * @example const body = assembleTraceRequest(batch); releaseEncodedBatch(batch);
 */
export function releaseEncodedBatch(batch: EncodedBatch): void {
  for (const scopes of batch.groups.values()) {
    for (const section of scopes.values()) {
      if (sectionPool.length < MAX_POOLED_SECTIONS && section.buf.length <= MAX_POOLED_SECTION_BYTES)
        sectionPool.push(section.buf);
    }
  }
  batch.groups.clear();
  batch.bytes = 0;
}

export function createEncodedBatch(): EncodedBatch {
  return { count: 0, bytes: 0, groups: new Map() };
}

/**
 * Encodes one finished span into its batch right away (on span end), so the span object
 * itself can be collected at once instead of surviving in a queue until the next export.
 */
export function appendSpan(batch: EncodedBatch, span: ReadableSpan): void {
  let scopes = batch.groups.get(span.resource);
  if (!scopes) {
    scopes = new Map();
    batch.groups.set(span.resource, scopes);
  }
  let section = scopes.get(span.instrumentationScope);
  if (!section) {
    section = {
      scope: span.instrumentationScope,
      buf: sectionPool.pop() ?? Buffer.allocUnsafe(16 * 1024),
      pos: 0,
    };
    scopes.set(span.instrumentationScope, section);
  }
  const saveBuf = buf;
  const savePos = pos;
  buf = section.buf;
  pos = section.pos;
  try {
    writeSpan(span);
    batch.bytes += pos - section.pos;
    section.buf = buf;
    section.pos = pos;
  } finally {
    buf = saveBuf;
    pos = savePos;
  }
  batch.count++;
}

/** Assembles an ExportTraceServiceRequest from a batch of already-encoded spans. */
export function assembleTraceRequest(batch: EncodedBatch): Uint8Array {
  pos = 0;
  ensure(batch.bytes + 4096);
  for (const [resource, scopes] of batch.groups) {
    writeResourceSpans(resource, scopes.values(), (section) => {
      ensure(section.pos);
      section.buf.copy(buf, pos, 0, section.pos);
      pos += section.pos;
    });
  }
  return takeOutput();
}

function writeResourceSpans<T extends { scope: Scope }>(
  resource: ReadableSpan['resource'],
  scopes: Iterable<T>,
  writeSpans: (entry: T) => void,
): void {
  const rs = open(0x0a);
  const r = open(0x0a);
  writeAttributes(resource.attributes as Attributes, 0x0a);
  ensure(4);
  buf[pos++] = 0x10;
  buf[pos++] = 0;
  close(r);
  for (const entry of scopes) {
    const scope = entry.scope;
    const ss = open(0x12);
    writeScope(scope);
    writeSpans(entry);
    if (scope.schemaUrl) {
      const n = strSize(scope.schemaUrl);
      ensure(n + 6);
      buf[pos++] = 0x1a;
      writeVarint(n);
      writeStr(scope.schemaUrl, n);
    }
    close(ss);
  }
  if (resource.schemaUrl) {
    const n = strSize(resource.schemaUrl);
    ensure(n + 6);
    buf[pos++] = 0x1a;
    writeVarint(n);
    writeStr(resource.schemaUrl, n);
  }
  close(rs);
}

/** Hands the working buffer over (no copy) and starts the next request on a fresh one. */
function takeOutput(): Uint8Array {
  const out = buf.subarray(0, pos);
  buf = Buffer.allocUnsafe(Math.max(64 * 1024, Math.min(buf.length, pos * 2)));
  pos = 0;
  return out;
}

/**
 * Encodes spans as an OTLP ExportTraceServiceRequest in one go (the JSON-free path of
 * exporters that receive span objects, and the reference the incremental path is tested
 * against).
 */
export function encodeTraceRequest(spans: readonly ReadableSpan[]): Uint8Array {
  pos = 0;
  const byResource = new Map<ReadableSpan['resource'], Map<Scope, { scope: Scope; spans: ReadableSpan[] }>>();
  for (const span of spans) {
    let scopes = byResource.get(span.resource);
    if (!scopes) {
      scopes = new Map();
      byResource.set(span.resource, scopes);
    }
    let entry = scopes.get(span.instrumentationScope);
    if (!entry) {
      entry = { scope: span.instrumentationScope, spans: [] };
      scopes.set(span.instrumentationScope, entry);
    }
    entry.spans.push(span);
  }
  for (const [resource, scopes] of byResource) {
    writeResourceSpans(resource, scopes.values(), (entry) => {
      for (const span of entry.spans) writeSpan(span);
    });
  }
  return takeOutput();
}
