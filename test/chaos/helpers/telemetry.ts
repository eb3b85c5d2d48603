// Reading what arrived: counters from the tap/sink files, and the service's own
// telemetry.dropped counter as it was last exported.
import type { SinkLog, SinkMetric, SinkSpan } from '@mem0-stack/testkit';

type DataPoint = {
  attributes?: Array<{ key: string; value: { stringValue?: string } }>;
  asInt?: string | number;
  asDouble?: number;
  timeUnixNano?: string | number;
};

function points(m: SinkMetric): DataPoint[] {
  const d = m.data as { sum?: { dataPoints?: DataPoint[] }; gauge?: { dataPoints?: DataPoint[] } };
  return d.sum?.dataPoints ?? d.gauge?.dataPoints ?? [];
}

function attr(p: DataPoint, key: string): string | undefined {
  return p.attributes?.find((a) => a.key === key)?.value.stringValue;
}

/**
 * The latest value of a cumulative counter per value of one attribute, from every export of
 * `name` seen so far (e.g. telemetry.dropped by signal). Exports are cumulative, so the newest
 * data point per series is the total since the process started.
 */
export function latestByAttribute(metrics: SinkMetric[], name: string, key: string): Record<string, number> {
  const best: Record<string, { t: bigint; v: number }> = {};
  for (const m of metrics) {
    if (m.name !== name) continue;
    for (const p of points(m)) {
      const k = attr(p, key) ?? '';
      const t = BigInt(p.timeUnixNano ?? 0);
      const v = Number(p.asInt ?? p.asDouble ?? 0);
      const cur = best[k];
      if (!cur || t >= cur.t) best[k] = { t, v };
    }
  }
  return Object.fromEntries(Object.entries(best).map(([k, { v }]) => [k, v]));
}

/** telemetry.dropped{signal} as last exported by the service. */
export function droppedBySignal(metrics: SinkMetric[]): { traces: number; logs: number; metrics: number } {
  const d = latestByAttribute(metrics, 'telemetry.dropped', 'signal');
  return { traces: d.traces ?? 0, logs: d.logs ?? 0, metrics: d.metrics ?? 0 };
}

/** Latest gauge/sum data points of `name` over time: [timeMs, value] pairs (all series summed per export). */
export function series(
  metrics: SinkMetric[],
  name: string,
  filter?: (p: DataPoint) => boolean,
): Array<[number, number]> {
  const byTime = new Map<number, number>();
  for (const m of metrics) {
    if (m.name !== name) continue;
    for (const p of points(m)) {
      if (filter && !filter(p)) continue;
      const t = Number(BigInt(p.timeUnixNano ?? 0) / 1_000_000n);
      byTime.set(t, (byTime.get(t) ?? 0) + Number(p.asInt ?? p.asDouble ?? 0));
    }
  }
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]);
}

export const SERVER_KIND = 2;

/** Server spans by trace id. */
export function serverSpansByTrace(spans: SinkSpan[]): Map<string, SinkSpan[]> {
  const m = new Map<string, SinkSpan[]>();
  for (const s of spans) {
    if (s.kind !== SERVER_KIND) continue;
    const l = m.get(s.traceId);
    if (l) l.push(s);
    else m.set(s.traceId, [s]);
  }
  return m;
}

export function countByTrace<T extends { traceId?: string }>(items: T[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) {
    if (!i.traceId) continue;
    m.set(i.traceId, (m.get(i.traceId) ?? 0) + 1);
  }
  return m;
}

export type { SinkLog, SinkSpan };
