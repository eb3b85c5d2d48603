// Log records for the OTLP log encoding tests: every field and AnyValue kind, as a log
// appender hands them to the Logs API, plus the limits and resource they are emitted with.
import { context, TraceFlags, trace } from '@opentelemetry/api';
import { type LogRecord, SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';

/** Small enough that the sample exceeds both (dropped_attributes_count, truncated strings). */
export const LIMITS = { attributeCountLimit: 16, attributeValueLengthLimit: 1000 };

export const RESOURCE = resourceFromAttributes(
  { 'service.name': 'enc-test', 'process.pid': 4242, 'host.name': 'héllo', tags: ['a', 'b'] },
  { schemaUrl: 'https://opentelemetry.io/schemas/1.28.0' },
);

/** Scopes the records are spread over (round robin): name + version, schema URL + attributes, and no name. */
export const SCOPES: Array<
  [string, string | undefined, { schemaUrl?: string; attributes?: Record<string, string | number> }?]
> = [
  ['scope-a', '1.2.3'],
  ['scope-b', undefined, { schemaUrl: 'https://example.com/s', attributes: { team: 'core', n: 1 } }],
  ['', undefined],
];

const SAMPLED = trace.setSpanContext(context.active(), {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
});
const UNSAMPLED = trace.setSpanContext(context.active(), {
  traceId: 'ABCDEF0123456789abcdef0123456789',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.NONE,
});

const T0 = 1_760_000_000_123; // ms since the epoch

/** Records covering every LogRecord field and AnyValue kind, with explicit timestamps. */
export function sampleRecords(): LogRecord[] {
  const bytes = new Uint8Array([0, 1, 2, 250, 255]);
  const nested = { a: 1, b: [true, 'x', 2.5, null, { deep: 'er', n: -3 }], c: { d: { e: 'f' } }, empty: {} };
  const recs: LogRecord[] = [
    { body: 'plain', severityNumber: SeverityNumber.INFO, severityText: 'info', timestamp: T0 },
    {
      body: `ünïcödé ✓ ß∂ƒ ${'€'.repeat(50)}`,
      severityNumber: SeverityNumber.ERROR,
      severityText: 'error',
      attributes: { utf: 'ß∂ƒ©˙∆˚¬…æ', emoji: '🙂 ok', lone: '\ud800x' },
      timestamp: [1_760_000_001, 999_999_999],
      observedTimestamp: new Date(T0 + 5),
      context: SAMPLED,
    },
    {
      body: 42,
      attributes: { int: 7, zero: 0, neg: -5, big: 2 ** 40 + 3, huge: 2 ** 60, veryNeg: -(2 ** 45) },
    },
    {
      body: -1.5,
      attributes: { dbl: 0.25, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, ninf: -Infinity },
    },
    { body: true, attributes: { t: true, f: false } },
    { body: null, attributes: { nul: null, und: undefined } },
    { body: bytes, attributes: { bytes, emptyBytes: new Uint8Array(0) } },
    {
      body: ['x', 1, 2.5, false, null, ['n', ['m']], { k: 'v' }, bytes],
      attributes: { arr: ['a', 'b', 'c'], mixed: [1, 'two', 3.5, true, null], empty: [] },
    },
    { body: nested, attributes: { nested, list: [nested, { x: [] }] } },
    { body: {}, attributes: {} },
    { body: [] },
    { eventName: 'memory.created', attributes: { 'event.name': 'memory.created', 'memory.id': 'm_1' } },
    { body: 'with context but not sampled', context: UNSAMPLED, severityNumber: SeverityNumber.WARN },
    { body: 'L'.repeat(300), attributes: { long: 'l'.repeat(20_000), key: 'v'.repeat(127) } },
    {
      body: 'invalid attribute values are dropped',
      attributes: { fn: (() => 1) as never, date: new Date() as never },
    },
    { body: 'exception', exception: Object.assign(new Error('boom'), { code: 'E_BOOM' }) },
    { body: 'string exception', exception: 'plain failure', attributes: { 'exception.message': 'kept' } },
    { body: 'severity only', severityNumber: SeverityNumber.FATAL4 },
    { severityText: 'text only', body: '' },
    { body: 'unusual severity text', severityText: '' },
  ];
  // Past the attribute count limit (the tests set it to 16): dropped_attributes_count > 0.
  const many: Record<string, number> = {};
  for (let i = 0; i < 40; i++) many[`k${i}`] = i;
  recs.push({ body: 'many attributes', attributes: many, context: SAMPLED });
  for (const r of recs) {
    r.timestamp ??= T0 + 1;
    r.observedTimestamp ??= T0 + 2;
  }
  return recs;
}
