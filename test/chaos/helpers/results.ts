// Each scenario records what it measured in .tmp/chaos/results/<id>.json; the global teardown
// turns those into docs/reliability.md. Which of the scenario's tests passed is recorded too, so
// the table never shows figures of a failed run as if they were good.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHAOS_DIR } from './chaosStack';

export const RESULTS_DIR = join(CHAOS_DIR, 'results');

export type ScenarioResult = {
  id: string;
  /** Order in the table. */
  order: number;
  title: string;
  load: string;
  fault: string;
  requests?: number;
  failed?: number;
  telemetryLost?: string;
  rssBeforeMiB?: number;
  rssAfterMiB?: number;
  /** Other measured figures, shown under the table. */
  figures: Record<string, string | number>;
  tests: string[];
  passed: string[];
  startedAt: string;
  finishedAt?: string;
};

export type Scenario = {
  result: ScenarioResult;
  /** A jest test whose success is recorded in the result. */
  test(name: string, fn: () => Promise<void> | void, timeoutMs?: number): void;
  figure(name: string, value: string | number): void;
  write(): void;
};

export const mib = (kib: number | undefined): number | undefined =>
  kib === undefined ? undefined : Math.round((kib / 1024) * 10) / 10;

/** Declares a scenario; call `write()` in afterAll. */
export function scenario(id: string, order: number, title: string, load: string, fault: string): Scenario {
  const result: ScenarioResult = {
    id,
    order,
    title,
    load,
    fault,
    figures: {},
    tests: [],
    passed: [],
    startedAt: new Date().toISOString(),
  };
  return {
    result,
    test(name, fn, timeoutMs) {
      result.tests.push(name);
      test(
        name,
        async () => {
          await fn();
          result.passed.push(name);
        },
        timeoutMs,
      );
    },
    figure(name, value) {
      result.figures[name] = value;
    },
    write() {
      result.finishedAt = new Date().toISOString();
      mkdirSync(RESULTS_DIR, { recursive: true });
      writeFileSync(join(RESULTS_DIR, `${id}.json`), `${JSON.stringify(result, null, 2)}\n`);
    },
  };
}

/** Seconds from an environment knob, with a default and a floor. */
export function seconds(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  return Number.isFinite(n) && n >= min ? n : fallback;
}
