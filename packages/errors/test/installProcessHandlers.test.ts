import { join } from 'node:path';
import { jsonLines, runNode } from '@mem0-stack/testkit';

// Root `npx jest` ignores per-project testTimeout; real databases and child processes on a
// shared 2-core machine need more than jest's 5 s default.
jest.setTimeout(60_000);

const fixture = join(__dirname, 'fixtures', 'processHandlers.ts');
const run = (mode: string) =>
  runNode(['--import', 'tsx', fixture, mode], {
    cwd: join(__dirname, '..'),
    timeoutMs: 20_000,
    env: { ...process.env, MEM0_LOG_OTLP: 'false', OTEL_SDK_DISABLED: 'true' },
  });

describe('installProcessHandlers (real child processes)', () => {
  it('uncaught exception: logs the classified error, flushes, exits 1', async () => {
    const r = await run('uncaught');
    expect(r.code).toBe(1);
    const { records } = jsonLines(r.stdout);
    const line = records.find((l) => l['error.code'] === 'INVARIANT_BROKEN');
    expect(line).toMatchObject({
      level: 'error',
      'error.category': 'internal',
      'error.severity': 'high',
      'error.origin': 'uncaughtException',
      'error.fatal': true,
    });
    // The flush ran before exit, after the log line.
    const flushedAt = records.findIndex((l) => l.flushed === true);
    expect(flushedAt).toBeGreaterThan(records.indexOf(line!));
  });

  it('an error already recorded before it went uncaught still gets its fatal log line', async () => {
    const r = await run('recorded-then-uncaught');
    expect(r.code).toBe(1);
    const { records } = jsonLines(r.stdout);
    expect(records.filter((l) => l['error.code'] === 'QUOTA_CHECK_FAILED')).toHaveLength(2);
    expect(records.find((l) => l['error.fatal'] === true)).toMatchObject({
      level: 'error',
      'error.code': 'QUOTA_CHECK_FAILED',
      'error.origin': 'uncaughtException',
    });
  });

  it('a flush that never settles does not keep a crashed process alive', async () => {
    const r = await run('hanging-flush');
    expect(r.code).toBe(1);
    expect(jsonLines(r.stdout).records.some((l) => l['error.code'] === 'INVARIANT_BROKEN')).toBe(true);
  });

  it('unhandled rejection: logged and classified, the process keeps running (and its SDK) by default', async () => {
    const r = await run('rejection');
    expect(r.code).toBe(0);
    const { records } = jsonLines(r.stdout);
    expect(records.find((l) => l['error.origin'] === 'unhandledRejection')).toMatchObject({
      'error.code': 'CONNECTION_REFUSED',
      'error.category': 'unavailable',
    });
    expect(records.some((l) => l.alive === true)).toBe(true);
    // `flush` may be otel's shutdown(): a process that carries on must keep its telemetry.
    expect(records.some((l) => l.flushed === true)).toBe(false);
  });

  it('unhandled rejection with exitOnUnhandledRejection: exits 1 after the flush', async () => {
    const r = await run('rejection-exit');
    expect(r.code).toBe(1);
    const { records } = jsonLines(r.stdout);
    expect(records.some((l) => l['error.origin'] === 'unhandledRejection')).toBe(true);
    expect(records.some((l) => l.flushed === true)).toBe(true);
    expect(records.some((l) => l.alive === true)).toBe(false);
  });
});
