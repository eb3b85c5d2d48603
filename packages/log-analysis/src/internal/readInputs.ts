import { createReadStream, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { LogAnalysisError } from '../LogAnalysisError';
import { expandGlob, hasGlob } from './expandGlob';
import { createLineSplitter } from './lineSplitter';
import { type LokiOptions, readLoki } from './readLoki';

/** What happened to the input, reported with every result ("malformed lines counted and skipped"). */
export type InputStats = {
  sources: string[];
  /** Non-blank lines read (Loki: entries received). */
  lines: number;
  /** Lines that parsed to a JSON object. */
  records: number;
  /** Lines that were not a JSON object (including oversized ones): skipped, never fatal. */
  malformed: number;
  /** Lines longer than --max-line-bytes, dropped without buffering them. */
  oversized: number;
  /** Records outside --since/--until/--service. */
  filtered: number;
  /** Up to 3 examples of malformed lines (`source:line: text`), for the warning. */
  malformedSamples: string[];
};

export function emptyStats(): InputStats {
  return { sources: [], lines: 0, records: 0, malformed: 0, oversized: 0, filtered: 0, malformedSamples: [] };
}

export type InputSpec = {
  /** Files and glob patterns; `-` is stdin. */
  paths: string[];
  stdin?: NodeJS.ReadableStream;
  follow: boolean;
  loki?: LokiOptions;
  maxLineChars: number;
  pollMs: number;
  /** Ends follow mode (and aborts Loki requests). */
  signal?: AbortSignal;
};

export type RecordSink = (rec: Record<string, unknown>) => void;

/**
 * Expands globs and checks files up front so a typo is an immediate usage error (exit 2),
 * not a half-finished analysis. Files are read oldest first (by mtime), so rotated logs
 * (`app.log.2 app.log.1 app.log`) stream in time order whatever order the shell gave them.
 */
export function resolvePaths(patterns: string[]): string[] {
  const files: Array<{ path: string; mtime: number; order: number }> = [];
  let order = 0;
  for (const p of patterns) {
    if (p === '-') {
      files.push({ path: '-', mtime: Number.POSITIVE_INFINITY, order: order++ });
      continue;
    }
    const matches = hasGlob(p) ? expandGlob(p) : [p];
    if (matches.length === 0) throw new LogAnalysisError('USAGE', `no file matches "${p}"`);
    for (const m of matches) {
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(m);
      } catch {
        throw new LogAnalysisError('USAGE', `cannot read "${m}": no such file`);
      }
      if (st.isDirectory())
        throw new LogAnalysisError('USAGE', `"${m}" is a directory (use a glob like "${m}/*.log")`);
      files.push({ path: m, mtime: st.mtimeMs, order: order++ });
    }
  }
  const seen = new Set<string>();
  return files
    .sort((a, b) => a.mtime - b.mtime || a.order - b.order)
    .map((f) => f.path)
    .filter((p) => {
      if (seen.has(p)) return false;
      seen.add(p);
      return true;
    });
}

/** Parses one line into the sink, counting what it could not use. */
function lineHandler(stats: InputStats, source: string, sink: RecordSink) {
  let lineNo = 0;
  const malformed = (text: string) => {
    stats.malformed++;
    if (stats.malformedSamples.length < 3) {
      stats.malformedSamples.push(
        `${source}:${lineNo}: ${text.length > 80 ? `${text.slice(0, 80)}…` : text}`,
      );
    }
  };
  const onLine = (line: string) => {
    lineNo++;
    let text = line;
    if (line.charCodeAt(0) !== 123) {
      text = line.trim();
      if (text.length === 0) return;
      // Tolerate prefixes added by log shippers (`app-1  | {...}`, kubectl --prefix).
      const brace = text.indexOf('{');
      stats.lines++;
      if (brace === -1) return malformed(text);
      text = text.slice(brace);
    } else {
      stats.lines++;
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return malformed(line);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return malformed(line);
    stats.records++;
    sink(v as Record<string, unknown>);
  };
  const onOversized = () => {
    lineNo++;
    stats.lines++;
    stats.oversized++;
    malformed('(line longer than --max-line-bytes)');
  };
  // Blank lines are not read, but they count for the line numbers of the malformed examples.
  const onBlank = () => {
    lineNo++;
  };
  return { onLine, onOversized, onBlank };
}

async function pump(stream: NodeJS.ReadableStream, push: (chunk: Buffer | string) => void): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    bytes += chunk.length;
    push(chunk);
  }
  return bytes;
}

function openFile(path: string, start = 0, end?: number): NodeJS.ReadableStream {
  const s = createReadStream(path, { start, end, highWaterMark: 1 << 16 });
  if (!path.endsWith('.gz')) return s;
  // pipe() does not forward errors: an unreadable .gz would be an unhandled 'error' (crash, exit 1).
  const gunzip = createGunzip();
  s.on('error', (e) => gunzip.destroy(e));
  return s.pipe(gunzip);
}

async function readOne(path: string, spec: InputSpec, stats: InputStats, sink: RecordSink): Promise<void> {
  const source = path === '-' ? 'stdin' : path;
  const h = lineHandler(stats, source, sink);
  const splitter = createLineSplitter(h.onLine, h.onOversized, spec.maxLineChars, h.onBlank);
  if (path === '-') {
    if (!spec.stdin) throw new LogAnalysisError('USAGE', 'no stdin available');
    await pump(spec.stdin, splitter.push);
    splitter.end();
    return;
  }
  let offset: number;
  let ino: number;
  try {
    ino = statSync(path).ino;
    offset = await pump(openFile(path), splitter.push);
  } catch (e) {
    throw new LogAnalysisError('USAGE', `cannot read "${path}": ${(e as Error).message}`, { cause: e });
  }
  if (!spec.follow || path.endsWith('.gz')) {
    splitter.end();
    return;
  }
  // tail -F: poll for growth, reopen from the start on rotation (new inode) or truncation.
  while (!spec.signal?.aborted) {
    try {
      await sleep(spec.pollMs, undefined, { signal: spec.signal });
    } catch {
      break;
    }
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(path);
    } catch {
      continue; // rotated away; wait for the new file
    }
    if (st.ino !== ino || st.size < offset) {
      splitter.end();
      ino = st.ino;
      offset = 0;
    }
    if (st.size > offset) {
      try {
        offset += await pump(openFile(path, offset, st.size - 1), splitter.push);
      } catch {
        // A file replaced between stat and open: the next poll picks the new one up.
      }
    }
  }
  splitter.end();
}

/**
 * Streams every input into `sink`, one parsed record at a time, with constant memory.
 * Files are read one after the other (concurrently in follow mode, where none ends).
 */
export async function readInputs(spec: InputSpec, stats: InputStats, sink: RecordSink): Promise<void> {
  if (spec.loki) {
    stats.sources.push(`loki ${spec.loki.url} ${spec.loki.query}`);
    await readLoki(spec.loki, stats, sink, spec.follow ? spec.pollMs : 0, spec.signal);
    return;
  }
  const files = resolvePaths(spec.paths);
  stats.sources.push(...files.map((f) => (f === '-' ? 'stdin' : f)));
  if (spec.follow) {
    await Promise.all(files.map((f) => readOne(f, spec, stats, sink)));
    return;
  }
  for (const f of files) await readOne(f, spec, stats, sink);
}
