import type { Attributes } from '@opentelemetry/api';
import type { LogAttributes } from '@opentelemetry/api-logs';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import {
  anyValueSize,
  int64Size,
  keyValueSize,
  strSize,
  varintSize,
  writeAnyValue,
  writeFixed64Time,
  writeHex,
  writeInt64,
  writeKeyValueBody,
  writeStr,
  writeVarint,
} from './protobufWire';

/**
 * OTLP/protobuf encoder for ExportLogsServiceRequest that works record by record: each log
 * record is encoded into its batch as it is emitted (appendLogRecord), and a request is the
 * concatenation of those bytes inside resource/scope framing (assembleLogsRequest). Same wire
 * format and field order as @opentelemetry/otlp-transformer's ProtobufLogsSerializer.
 */

/** What the encoder reads from a log record: ReadableLogRecord has this shape. */
export type EncodableLogRecord = Pick<
  ReadableLogRecord,
  | 'hrTime'
  | 'hrTimeObserved'
  | 'spanContext'
  | 'severityText'
  | 'severityNumber'
  | 'body'
  | 'eventName'
  | 'attributes'
  | 'droppedAttributesCount'
>;
export type LogScope = ReadableLogRecord['instrumentationScope'];
export type LogResource = ReadableLogRecord['resource'];

/** Encoded records of one instrumentation scope, waiting to be sent. */
export type LogScopeSection = { scope: LogScope; buf: Buffer; pos: number };

/** An open batch: LogRecord messages already encoded, grouped by resource then scope. */
export type EncodedLogBatch = {
  count: number;
  bytes: number;
  groups: Map<LogResource, Map<LogScope, LogScopeSection>>;
};

/**
 * A new, empty batch.
 * @example const batch = createEncodedLogBatch();
 */
export function createEncodedLogBatch(): EncodedLogBatch {
  return { count: 0, bytes: 0, groups: new Map() };
}

/** Size of the repeated KeyValue fields (one-byte tag each) of an attribute map, undefined values included as empty AnyValues (as upstream writes them). */
function attributesSize(attrs: LogAttributes | Attributes | undefined): number {
  let n = 0;
  if (!attrs) return n;
  for (const key in attrs) {
    if (!Object.hasOwn(attrs, key)) continue;
    const s = keyValueSize(key, attrs[key]);
    n += 1 + varintSize(s) + s;
  }
  return n;
}

function writeAttributes(buf: Buffer, pos: number, attrs: LogAttributes | Attributes, tag: number): number {
  for (const key in attrs) {
    if (!Object.hasOwn(attrs, key)) continue;
    const value = attrs[key];
    buf[pos++] = tag;
    pos = writeKeyValueBody(buf, pos, key, value, keyValueSize(key, value));
  }
  return pos;
}

// Most attributes of a service's log records repeat (method, route, status, user agent, event
// name…): each distinct scalar key/value pair is encoded once, as a whole LogRecord.attributes
// field, and copied afterwards. Keys whose values keep changing (ids, durations) stop being
// cached once they reach MAX_VALUES_PER_KEY values.
const MAX_CACHED_VALUE = 96;
const MAX_VALUES_PER_KEY = 128;
const MAX_KEYS = 256;
const kvCache = new Map<string, Map<string | number | boolean, Buffer> | null>();

function cachedAttribute(key: string, value: unknown): Buffer | undefined {
  const t = typeof value;
  if (t !== 'string' && t !== 'number' && t !== 'boolean') return undefined;
  if (t === 'string' && (value as string).length > MAX_CACHED_VALUE) return undefined;
  let byValue = kvCache.get(key);
  if (byValue === undefined) {
    if (kvCache.size >= MAX_KEYS) return undefined;
    byValue = new Map();
    kvCache.set(key, byValue);
  } else if (byValue === null) return undefined;
  const v = value as string | number | boolean;
  let enc = byValue.get(v);
  if (enc === undefined) {
    if (byValue.size >= MAX_VALUES_PER_KEY) {
      kvCache.set(key, null);
      return undefined;
    }
    const size = keyValueSize(key, v);
    enc = Buffer.allocUnsafe(1 + varintSize(size) + size);
    enc[0] = 0x32;
    writeKeyValueBody(enc, 1, key, v, size);
    byValue.set(v, enc);
  }
  return enc;
}

// The attributes of the record being encoded, gathered by the size pass for the write pass:
// a cached encoding, or the key, value and KeyValue size to encode.
let attrCount = 0;
const attrEnc: Array<Buffer | undefined> = [];
const attrKey: string[] = [];
const attrValue: unknown[] = [];
const attrSize: number[] = [];

/** Gathers a record's attributes (see above); returns the size of their fields. */
function gatherAttributes(attrs: LogAttributes): number {
  let n = 0;
  attrCount = 0;
  for (const key in attrs) {
    if (!Object.hasOwn(attrs, key)) continue;
    const value = attrs[key];
    const i = attrCount++;
    const enc = cachedAttribute(key, value);
    attrEnc[i] = enc;
    if (enc !== undefined) {
      n += enc.length;
      continue;
    }
    const s = keyValueSize(key, value);
    attrKey[i] = key;
    attrValue[i] = value;
    attrSize[i] = s;
    n += 1 + varintSize(s) + s;
  }
  return n;
}

function writeGatheredAttributes(buf: Buffer, pos: number): number {
  for (let i = 0; i < attrCount; i++) {
    const enc = attrEnc[i];
    if (enc !== undefined) {
      const len = enc.length;
      if (len <= 48) for (let j = 0; j < len; j++) buf[pos + j] = enc[j] as number;
      else enc.copy(buf, pos);
      pos += len;
      continue;
    }
    buf[pos++] = 0x32;
    pos = writeKeyValueBody(buf, pos, attrKey[i] as string, attrValue[i], attrSize[i] as number);
    attrValue[i] = undefined; // not kept alive until the next record
  }
  return pos;
}

/**
 * Out-of-range severity numbers (not an integer in 1..2^32) are left out, i.e. UNSPECIFIED:
 * the enum has no such value and upstream would write a mangled varint for them.
 */
function severityOf(n: unknown): number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 0x100000000 ? n : 0;
}

/** Size of one LogRecord message body; gathers its attributes for writeLogRecord. */
function logRecordSize(rec: EncodableLogRecord): number {
  let n = 18; // time_unix_nano and observed_time_unix_nano: tag + fixed64 each
  const sev = severityOf(rec.severityNumber);
  if (sev !== 0) n += 1 + int64Size(sev);
  const text = rec.severityText;
  if (typeof text === 'string' && text.length > 0) {
    const t = strSize(text);
    n += 1 + varintSize(t) + t;
  }
  if (rec.body !== undefined) {
    const b = anyValueSize(rec.body);
    n += 1 + varintSize(b) + b;
  }
  n += gatherAttributes(rec.attributes);
  n += 1 + varintSize(rec.droppedAttributesCount);
  const sc = rec.spanContext;
  if (sc) {
    if (sc.traceFlags) n += 5;
    if (sc.traceId) n += 2 + (sc.traceId.length >> 1);
    if (sc.spanId) n += 2 + (sc.spanId.length >> 1);
  }
  const ev = rec.eventName;
  if (typeof ev === 'string' && ev.length > 0) {
    const e = strSize(ev);
    n += 1 + varintSize(e) + e;
  }
  return n;
}

/** Writes one LogRecord message body right after its logRecordSize, fields in upstream's order. */
function writeLogRecord(buf: Buffer, pos: number, rec: EncodableLogRecord): number {
  buf[pos++] = 0x09;
  pos = writeFixed64Time(buf, pos, rec.hrTime);
  const sev = severityOf(rec.severityNumber);
  if (sev !== 0) {
    buf[pos++] = 0x10;
    pos = writeInt64(buf, pos, sev);
  }
  const text = rec.severityText;
  if (typeof text === 'string' && text.length > 0) {
    const t = strSize(text);
    buf[pos++] = 0x1a;
    pos = writeVarint(buf, pos, t);
    pos = writeStr(buf, pos, text, t);
  }
  if (rec.body !== undefined) {
    buf[pos++] = 0x2a;
    pos = writeVarint(buf, pos, anyValueSize(rec.body));
    pos = writeAnyValue(buf, pos, rec.body);
  }
  pos = writeGatheredAttributes(buf, pos);
  buf[pos++] = 0x38;
  pos = writeVarint(buf, pos, rec.droppedAttributesCount);
  const sc = rec.spanContext;
  if (sc) {
    if (sc.traceFlags) {
      buf[pos++] = 0x45;
      buf.writeUInt32LE(sc.traceFlags >>> 0, pos);
      pos += 4;
    }
    if (sc.traceId) {
      buf[pos++] = 0x4a;
      buf[pos++] = sc.traceId.length >> 1;
      pos = writeHex(buf, pos, sc.traceId);
    }
    if (sc.spanId) {
      buf[pos++] = 0x52;
      buf[pos++] = sc.spanId.length >> 1;
      pos = writeHex(buf, pos, sc.spanId);
    }
  }
  buf[pos++] = 0x59;
  pos = writeFixed64Time(buf, pos, rec.hrTimeObserved);
  const ev = rec.eventName;
  if (typeof ev === 'string' && ev.length > 0) {
    const e = strSize(ev);
    buf[pos++] = 0x62;
    pos = writeVarint(buf, pos, e);
    pos = writeStr(buf, pos, ev, e);
  }
  return pos;
}

// Per scope, the size its last batch reached: a new batch's section starts that large instead
// of growing (and copying) its way up from 16 KiB every time.
const sectionHints = new WeakMap<LogScope, number>();
const MIN_SECTION = 16 * 1024;
const MAX_SECTION_HINT = 4 * 1024 * 1024;

function sectionFor(batch: EncodedLogBatch, resource: LogResource, scope: LogScope): LogScopeSection {
  let scopes = batch.groups.get(resource);
  if (!scopes) {
    scopes = new Map();
    batch.groups.set(resource, scopes);
  }
  let section = scopes.get(scope);
  if (!section) {
    section = { scope, buf: Buffer.allocUnsafe(sectionHints.get(scope) ?? MIN_SECTION), pos: 0 };
    scopes.set(scope, section);
  }
  return section;
}

let encoding = false;

/**
 * Encodes one log record into its batch right away (as it is emitted), so nothing of the
 * record is retained until the export. Throws (writing nothing) when the record cannot be
 * encoded, e.g. a circular body.
 * @example appendLogRecord(batch, record, record.resource, record.instrumentationScope);
 */
export function appendLogRecord(
  batch: EncodedLogBatch,
  rec: EncodableLogRecord,
  resource: LogResource,
  scope: LogScope,
): void {
  // The gathered attributes are module state: a getter that logs while its record is being
  // encoded must not interleave with it (that record is dropped and counted instead).
  if (encoding) throw new Error('log record emitted while another one was being encoded');
  encoding = true;
  try {
    const size = logRecordSize(rec);
    const section = sectionFor(batch, resource, scope);
    const need = section.pos + 6 + size;
    if (need > section.buf.length) {
      let next = section.buf.length * 2;
      while (next < need) next *= 2;
      const grown = Buffer.allocUnsafe(next);
      section.buf.copy(grown, 0, 0, section.pos);
      section.buf = grown;
    }
    const buf = section.buf;
    let pos = section.pos;
    buf[pos++] = 0x12; // ScopeLogs.log_records
    pos = writeVarint(buf, pos, size);
    const end = writeLogRecord(buf, pos, rec);
    if (end - pos !== size) throw new Error(`log record encoded to ${end - pos} bytes, expected ${size}`);
    batch.bytes += end - section.pos;
    section.pos = end;
    batch.count++;
  } finally {
    encoding = false;
  }
}

type Extras = { attributes?: LogAttributes; droppedAttributesCount?: number };

function scopeSize(scope: LogScope): number {
  const name = strSize(scope.name);
  let n = 1 + varintSize(name) + name;
  if (scope.version) {
    const v = strSize(scope.version);
    n += 1 + varintSize(v) + v;
  }
  const extra = scope as Extras;
  n += attributesSize(extra.attributes);
  if (extra.droppedAttributesCount) n += 1 + varintSize(extra.droppedAttributesCount);
  return n;
}

function writeScope(buf: Buffer, pos: number, scope: LogScope, size: number): number {
  buf[pos++] = 0x0a; // ScopeLogs.scope
  pos = writeVarint(buf, pos, size);
  const name = strSize(scope.name);
  buf[pos++] = 0x0a;
  pos = writeVarint(buf, pos, name);
  pos = writeStr(buf, pos, scope.name, name);
  if (scope.version) {
    const v = strSize(scope.version);
    buf[pos++] = 0x12;
    pos = writeVarint(buf, pos, v);
    pos = writeStr(buf, pos, scope.version, v);
  }
  const extra = scope as Extras;
  if (extra.attributes) pos = writeAttributes(buf, pos, extra.attributes, 0x1a);
  if (extra.droppedAttributesCount) {
    buf[pos++] = 0x20;
    pos = writeVarint(buf, pos, extra.droppedAttributesCount);
  }
  return pos;
}

function stringFieldSize(s: string | undefined): number {
  if (!s) return 0;
  const n = strSize(s);
  return 1 + varintSize(n) + n;
}

function writeStringField(buf: Buffer, pos: number, tag: number, s: string | undefined): number {
  if (!s) return pos;
  const n = strSize(s);
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, n);
  return writeStr(buf, pos, s, n);
}

/**
 * Assembles an ExportLogsServiceRequest from a batch of already-encoded records: resource and
 * scope framing around the bytes of each section.
 * @example const body = assembleLogsRequest(batch); await exporter.sendEncoded(body);
 */
export function assembleLogsRequest(batch: EncodedLogBatch): Uint8Array {
  // Sizes first, so every length is written once, in place, into a buffer of the exact size.
  type Plan = {
    resource: LogResource;
    res: number;
    scopes: Array<[LogScopeSection, number, number]>;
    rl: number;
  };
  const plans: Plan[] = [];
  let total = 0;
  for (const [resource, scopes] of batch.groups) {
    const res = attributesSize(resource.attributes) + 2;
    let rl = 1 + varintSize(res) + res + stringFieldSize(resource.schemaUrl);
    const entries: Plan['scopes'] = [];
    for (const section of scopes.values()) {
      sectionHints.set(
        section.scope,
        Math.min(MAX_SECTION_HINT, Math.max(MIN_SECTION, 2 ** Math.ceil(Math.log2(section.pos * 1.25 + 1)))),
      );
      const sc = scopeSize(section.scope);
      const sl = 1 + varintSize(sc) + sc + section.pos + stringFieldSize(section.scope.schemaUrl);
      entries.push([section, sc, sl]);
      rl += 1 + varintSize(sl) + sl;
    }
    plans.push({ resource, res, scopes: entries, rl });
    total += 1 + varintSize(rl) + rl;
  }
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const { resource, res, scopes, rl } of plans) {
    buf[pos++] = 0x0a; // ExportLogsServiceRequest.resource_logs
    pos = writeVarint(buf, pos, rl);
    buf[pos++] = 0x0a; // ResourceLogs.resource
    pos = writeVarint(buf, pos, res);
    pos = writeAttributes(buf, pos, resource.attributes, 0x0a);
    buf[pos++] = 0x10; // Resource.dropped_attributes_count: 0, as upstream
    buf[pos++] = 0;
    for (const [section, sc, sl] of scopes) {
      buf[pos++] = 0x12; // ResourceLogs.scope_logs
      pos = writeVarint(buf, pos, sl);
      pos = writeScope(buf, pos, section.scope, sc);
      section.buf.copy(buf, pos, 0, section.pos);
      pos += section.pos;
      pos = writeStringField(buf, pos, 0x1a, section.scope.schemaUrl);
    }
    pos = writeStringField(buf, pos, 0x1a, resource.schemaUrl);
  }
  if (pos !== total) throw new Error(`logs request encoded to ${pos} bytes, expected ${total}`);
  return buf;
}
