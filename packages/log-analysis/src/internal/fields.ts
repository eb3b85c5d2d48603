/**
 * The one place that knows how a log line names things. Every analysis reads records through
 * the getters compiled from this table, so a renamed field in another package (or a Loki
 * stream, whose OTLP attributes arrive with `_` instead of `.`) is a one-line change here or a
 * `--fields` file for users, never a hunt through the analyzers.
 *
 * Each logical field lists candidate keys, tried in order. A key is looked up as a flat
 * property (`rec['http.route']`, the contract's shape), then as a nested path
 * (`rec.http.route`), then with dots replaced by underscores (`rec.http_route`, Loki's shape).
 */
export type FieldName =
  | 'timestamp'
  | 'level'
  | 'message'
  | 'service'
  | 'version'
  | 'environment'
  | 'traceId'
  | 'spanId'
  | 'correlationId'
  | 'eventName'
  | 'method'
  | 'route'
  | 'path'
  | 'status'
  | 'durationMs'
  | 'operation'
  | 'outcome'
  | 'errorCode'
  | 'errorCategory'
  | 'errorSeverity'
  | 'errorMessage'
  | 'unclassified'
  | 'breakerName'
  | 'breakerState'
  | 'attempt'
  | 'cacheResult';

export const DEFAULT_FIELDS: Readonly<Record<FieldName, readonly string[]>> = {
  timestamp: ['timestamp', '@timestamp', 'time', 'ts'],
  level: ['level', 'severity_text', 'detected_level', 'severity', 'lvl'],
  message: ['message', 'msg', 'body'],
  service: ['service.name', 'service', 'resource.service.name'],
  version: ['service.version'],
  environment: ['deployment.environment', 'deployment.environment.name', 'env'],
  traceId: ['trace_id', 'traceId', 'trace.id'],
  spanId: ['span_id', 'spanId', 'span.id'],
  correlationId: ['correlation_id', 'correlationId', 'request_id', 'requestId'],
  eventName: ['event.name', 'event', 'event_name'],
  method: ['http.request.method', 'http.method', 'method'],
  route: ['http.route', 'route'],
  path: ['url.path', 'http.target', 'path', 'url'],
  status: ['http.response.status_code', 'http.status_code', 'status_code', 'status', 'statusCode'],
  durationMs: ['duration_ms', 'http.server.duration_ms', 'durationMs', 'elapsed_ms', 'responseTime'],
  operation: ['operation', 'operation.name'],
  outcome: ['outcome', 'operation.outcome', 'result'],
  errorCode: ['error.code', 'err.code', 'error_code'],
  errorCategory: ['error.category', 'err.category'],
  errorSeverity: ['error.severity', 'err.severity'],
  errorMessage: ['exception.message', 'error.message', 'err.message'],
  unclassified: ['error.unclassified', 'unclassified', 'err.unclassified'],
  breakerName: ['resilience.name', 'circuit.name', 'breaker.name'],
  // The state a breaker moved to: @mem0-stack/resilience logs `resilience.circuit.to` on
  // every transition (open, half-open, closed, isolated); numbers follow its gauge (0-3).
  breakerState: ['resilience.circuit.to', 'circuit.to', 'circuit.state', 'breaker.state'],
  attempt: ['resilience.attempt', 'retry.attempt', 'attempt'],
  cacheResult: ['cache.result', 'cache_result'],
};

/**
 * How resilience and cache events are recognised. An event matches when its event name (or,
 * failing that, its message) equals one of the names or starts with one ending in `*`.
 */
export type EventNames = {
  retry: readonly string[];
  recovered: readonly string[];
  exhausted: readonly string[];
  breakerOpen: readonly string[];
  breakerHalfOpen: readonly string[];
  breakerClosed: readonly string[];
  /** Generic state-change events; the new state is read from the `breakerState` field. */
  breakerStateChange: readonly string[];
  cacheHit: readonly string[];
  cacheMiss: readonly string[];
};

export const DEFAULT_EVENTS: Readonly<EventNames> = {
  retry: ['resilience.retry', 'retry', 'resilience.retry.attempt'],
  recovered: ['resilience.recovered', 'recovered', 'resilience.retry.recovered'],
  exhausted: ['resilience.exhausted', 'exhausted', 'resilience.retry.exhausted', 'retry.exhausted'],
  breakerOpen: ['resilience.circuit.open', 'circuit.open', 'breaker.open', 'circuit_open'],
  breakerHalfOpen: ['resilience.circuit.half_open', 'circuit.half_open', 'breaker.half_open'],
  breakerClosed: ['resilience.circuit.close', 'resilience.circuit.closed', 'circuit.close', 'circuit.closed'],
  breakerStateChange: [
    'resilience.circuit.state',
    'resilience.circuit.state_change',
    'resilience.circuit.transition',
    'circuit.state_change',
  ],
  cacheHit: ['cache.hit'],
  cacheMiss: ['cache.miss'],
};

/** Levels that make a record an error even without `error.*` fields. */
export const ERROR_LEVELS: ReadonlySet<string> = new Set([
  'error',
  'fatal',
  'critical',
  'crit',
  'alert',
  'emerg',
]);

/** pino/bunyan numeric levels, so their logs read too. */
const NUMERIC_LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** User overrides, from `--fields file.yaml|json`. Keys listed there are tried before the defaults. */
export type FieldConfig = {
  fields?: Partial<Record<FieldName, string[]>>;
  events?: Partial<Record<keyof EventNames, string[]>>;
};

export type Getter = (rec: Record<string, unknown>) => unknown;

/** Field names in a fixed order: the extractor fills an array indexed by this. */
export const FIELD_NAMES = Object.keys(DEFAULT_FIELDS) as FieldName[];
export const F = Object.fromEntries(FIELD_NAMES.map((n, i) => [n, i])) as Record<FieldName, number>;

/**
 * Reads every logical field of a record in ONE pass over its own keys (a Map lookup per key),
 * instead of probing each candidate key of each field: with ~25 fields × ~6 candidates that
 * is the difference between ~15 and ~150 property lookups per line. Nested paths
 * (`{"service":{"name":…}}`) are only probed when the record has object values.
 * The returned array is reused: read it before the next call.
 */
function compileExtractor(lists: Record<FieldName, string[]>): (rec: Record<string, unknown>) => unknown[] {
  const keyMap = new Map<string, Array<[number, number]>>();
  const nested: Array<Array<[string[], number]>> = FIELD_NAMES.map(() => []);
  FIELD_NAMES.forEach((name, f) => {
    const keys = lists[name];
    const candidates: string[] = [];
    for (const k of keys) if (!candidates.includes(k)) candidates.push(k);
    for (const k of keys) {
      const u = k.replaceAll('.', '_');
      if (!candidates.includes(u)) candidates.push(u);
    }
    candidates.forEach((k, prio) => {
      const list = keyMap.get(k) ?? [];
      list.push([f, prio]);
      keyMap.set(k, list);
    });
    keys.forEach((k, prio) => {
      if (k.includes('.')) nested[f]!.push([k.split('.'), candidates.length + prio]);
    });
  });
  const n = FIELD_NAMES.length;
  const out: unknown[] = new Array(n);
  const prio: number[] = new Array(n);
  const messageField = F.message;
  return (rec) => {
    for (let i = 0; i < n; i++) {
      out[i] = undefined;
      prio[i] = 1e9;
    }
    let hasObject = false;
    for (const k in rec) {
      const v = rec[k];
      if (v === undefined || v === null || v === '') continue;
      if (typeof v === 'object') hasObject = true;
      const m = keyMap.get(k);
      if (m === undefined) continue;
      for (let j = 0; j < m.length; j++) {
        const [f, p] = m[j]!;
        if (p < prio[f]! && (typeof v !== 'object' || f === messageField)) {
          out[f] = v;
          prio[f] = p;
        }
      }
    }
    if (hasObject) {
      for (let f = 0; f < n; f++) {
        const paths = nested[f]!;
        for (let j = 0; j < paths.length; j++) {
          const [parts, p] = paths[j]!;
          if (p >= prio[f]!) continue;
          let cur: unknown = rec;
          for (let x = 0; x < parts.length && cur !== undefined && cur !== null; x++) {
            cur = typeof cur === 'object' ? (cur as Record<string, unknown>)[parts[x]!] : undefined;
          }
          if (cur !== undefined && cur !== null && cur !== '' && typeof cur !== 'object') {
            out[f] = cur;
            prio[f] = p;
          }
        }
      }
    }
    return out;
  };
}

export type CompiledFields = {
  get: Readonly<Record<FieldName, Getter>>;
  /** All fields of a record at once, indexed by `F` (the array is reused between calls). */
  extract: (rec: Record<string, unknown>) => unknown[];
  /** Which EventNames list an event name (or short message) belongs to; one map lookup per record. */
  eventKind: (name: string) => keyof EventNames | undefined;
};

/**
 * Builds the getters, user keys first.
 * @example const f = compileFields(); f.get.route({ 'http.route': '/x' }) // '/x'
 */
export function compileFields(config: FieldConfig = {}): CompiledFields {
  const get = {} as Record<FieldName, Getter>;
  const lists = {} as Record<FieldName, string[]>;
  for (const name of FIELD_NAMES) {
    lists[name] = [...(config.fields?.[name] ?? []), ...DEFAULT_FIELDS[name]];
  }
  const extract = compileExtractor(lists);
  for (const name of FIELD_NAMES) {
    const i = F[name];
    get[name] = (rec) => extract(rec)[i];
  }
  const exact = new Map<string, keyof EventNames>();
  const prefixes: Array<[string, keyof EventNames]> = [];
  for (const kind of Object.keys(DEFAULT_EVENTS) as Array<keyof EventNames>) {
    for (const n of [...(config.events?.[kind] ?? []), ...DEFAULT_EVENTS[kind]]) {
      const l = n.toLowerCase();
      if (l.endsWith('*')) prefixes.push([l.slice(0, -1), kind]);
      else if (!exact.has(l)) exact.set(l, kind);
    }
  }
  const eventKind = (name: string): keyof EventNames | undefined => {
    const hit = exact.get(name);
    if (hit !== undefined) return hit;
    const l = name.toLowerCase();
    const lower = l === name ? undefined : exact.get(l);
    if (lower !== undefined) return lower;
    for (const [p, kind] of prefixes) if (l.startsWith(p)) return kind;
    return undefined;
  };
  return { get, extract, eventKind };
}

/** Checks a parsed `--fields` document, so a typo is a clear error and not silent nothing. */
export function validateFieldConfig(doc: unknown): FieldConfig {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new Error('must be a mapping with `fields` and/or `events`');
  const out: FieldConfig = {};
  for (const [section, value] of Object.entries(doc as Record<string, unknown>)) {
    if (section !== 'fields' && section !== 'events') {
      throw new Error(`unknown section "${section}" (expected "fields" or "events")`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`"${section}" must be a mapping of name to a list of keys`);
    }
    const known = Object.keys(section === 'fields' ? DEFAULT_FIELDS : DEFAULT_EVENTS);
    const target: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (!known.includes(k)) throw new Error(`unknown ${section} name "${k}" (known: ${known.join(', ')})`);
      const list = typeof v === 'string' ? [v] : v;
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string' && x.length > 0)) {
        throw new Error(`${section}.${k} must be a string or a list of strings`);
      }
      target[k] = list as string[];
    }
    if (section === 'fields') out.fields = target;
    else out.events = target;
  }
  return out;
}

/** Normalises a level value (`ERROR`, `50`, `Warning`) to a lowercase name. */
export function normalizeLevel(v: unknown): string {
  if (typeof v === 'number') return NUMERIC_LEVELS[v] ?? String(v);
  if (typeof v !== 'string') return 'unknown';
  const l = v.toLowerCase();
  if (l === 'warning') return 'warn';
  if (l === 'err') return 'error';
  if (l.length > 0 && l.charCodeAt(0) >= 48 && l.charCodeAt(0) <= 57) {
    return NUMERIC_LEVELS[Number(l)] ?? l;
  }
  return l;
}
