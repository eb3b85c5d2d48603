import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { parseLogs, parseMetrics, parseSpans } from './internal/otlpJson';
import type { SinkLog, SinkMetric, SinkSpan } from './otlpSink';

type Parsed = { traces: SinkSpan; logs: SinkLog; metrics: SinkMetric };

/** An OTLP/JSON-lines file (the collector's `file` exporter) read incrementally. */
export type OtlpFile<S extends keyof Parsed> = {
  readonly path: string;
  /** Everything written so far, flattened; each call only parses what was appended since the last. */
  items(): Parsed[S][];
  /** Export requests (lines) read so far. */
  documents(): number;
};

const PARSERS = { traces: parseSpans, logs: parseLogs, metrics: parseMetrics } as const;

/**
 * Follows a file written by a collector `file` exporter with `format: json` (one export request
 * per line) without re-reading it: long runs write tens of megabytes, and tests poll. A line
 * still being written is left for the next call; a line that is not JSON is skipped.
 * @example const spans = tailOtlpFile(join(dir, 'traces.jsonl'), 'traces'); spans.items().length;
 */
export function tailOtlpFile<S extends keyof Parsed>(path: string, signal: S): OtlpFile<S> {
  const items: Parsed[S][] = [];
  let offset = 0;
  let docs = 0;
  let pending = Buffer.alloc(0);
  const parse = PARSERS[signal] as (doc: unknown) => Parsed[S][];
  const poll = () => {
    if (!existsSync(path)) return;
    const size = statSync(path).size;
    if (size <= offset) return;
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      const n = readSync(fd, buf, 0, buf.length, offset);
      offset += n;
      pending = pending.length > 0 ? Buffer.concat([pending, buf.subarray(0, n)]) : buf.subarray(0, n);
    } finally {
      closeSync(fd);
    }
    let start = 0;
    for (let nl = pending.indexOf(10, start); nl >= 0; nl = pending.indexOf(10, start)) {
      const line = pending.subarray(start, nl).toString('utf8');
      start = nl + 1;
      if (line.trim() === '') continue;
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch {
        continue;
      }
      docs++;
      for (const item of parse(doc)) items.push(item);
    }
    pending = Buffer.from(pending.subarray(start));
  };
  return {
    path,
    items() {
      poll();
      return items;
    },
    documents() {
      poll();
      return docs;
    },
  };
}
