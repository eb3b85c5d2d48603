import type { LatencySummary } from '../latencyStats';
import { fmtMs, fmtTime, renderTable } from './format';

const n = (x: number) => x.toLocaleString('en-US');
const t = (iso: string | null) => (iso ? fmtTime(Date.parse(iso)) : '-');

/** Human-readable tables for `mem0-logs latency`. */
export function renderLatency(l: LatencySummary): string {
  const out: string[] = [];
  const o = l.overall;
  out.push(
    `Requests: ${n(l.requests)} · p50 ${fmtMs(o.p50)} · p90 ${fmtMs(o.p90)} · p95 ${fmtMs(o.p95)} · p99 ${fmtMs(o.p99)} · max ${fmtMs(o.max)}`,
  );
  if (l.routes.length > 0) {
    out.push('', 'Per route (request log lines)');
    out.push(
      renderTable(
        [
          { header: 'method' },
          { header: 'route', max: 60 },
          { header: 'count', align: 'right' },
          { header: 'p50', align: 'right' },
          { header: 'p90', align: 'right' },
          { header: 'p95', align: 'right' },
          { header: 'p99', align: 'right' },
          { header: 'max', align: 'right' },
          { header: '5xx', align: 'right' },
          { header: '4xx', align: 'right' },
        ],
        l.routes.map((r) => [
          r.method,
          r.route,
          n(r.count),
          fmtMs(r.p50),
          fmtMs(r.p90),
          fmtMs(r.p95),
          fmtMs(r.p99),
          fmtMs(r.max),
          n(r.serverErrors),
          n(r.clientErrors),
        ]),
      ),
    );
  }
  if (l.slowest.length > 0) {
    out.push('', 'Slowest requests');
    out.push(
      renderTable(
        [
          { header: 'duration', align: 'right' },
          { header: 'time' },
          { header: 'request', max: 60 },
          { header: 'status', align: 'right' },
          { header: 'correlation id', max: 40 },
        ],
        l.slowest.map((s) => [
          fmtMs(s.durationMs),
          t(s.timestamp),
          `${s.method} ${s.route}`,
          s.status,
          s.correlationId ?? '-',
        ]),
      ),
    );
  }
  if (l.operations.length > 0) {
    out.push('', 'Operations (timed() records)');
    out.push(
      renderTable(
        [
          { header: 'operation', max: 50 },
          { header: 'count', align: 'right' },
          { header: 'p50', align: 'right' },
          { header: 'p95', align: 'right' },
          { header: 'p99', align: 'right' },
          { header: 'max', align: 'right' },
          { header: 'failed', align: 'right' },
        ],
        l.operations.map((r) => [
          r.operation,
          n(r.count),
          fmtMs(r.p50),
          fmtMs(r.p95),
          fmtMs(r.p99),
          fmtMs(r.max),
          n(r.failures),
        ]),
      ),
    );
    out.push('', 'Slowest operations');
    out.push(
      renderTable(
        [
          { header: 'duration', align: 'right' },
          { header: 'time' },
          { header: 'operation', max: 50 },
          { header: 'outcome' },
          { header: 'correlation id', max: 40 },
        ],
        l.slowestOperations.map((s) => [
          fmtMs(s.durationMs),
          t(s.timestamp),
          s.operation,
          s.failed ? 'failed' : 'ok',
          s.correlationId ?? '-',
        ]),
      ),
    );
  }
  if (l.requests === 0 && l.operations.length === 0)
    out.push('', 'No request lines or timed() records in the input.');
  return out.join('\n');
}
