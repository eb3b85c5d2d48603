import { startTimer, timed } from '../src';
import { captureLogger } from './helpers';
import { startMetrics } from './otelHarness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('timed / startTimer', () => {
  let m: ReturnType<typeof startMetrics>;
  beforeEach(() => {
    m = startMetrics();
  });
  afterEach(async () => {
    await m.stop();
  });

  it('logs duration_ms and outcome for a successful async operation and returns its value', async () => {
    const { logger, records } = captureLogger();
    const value = await timed(
      'db.load_user',
      async () => {
        await sleep(20);
        return 'user-1';
      },
      { userId: 1 },
      { logger },
    );
    expect(value).toBe('user-1');
    const [r] = records();
    expect(r).toMatchObject({
      level: 'info',
      message: 'db.load_user completed',
      operation: 'db.load_user',
      outcome: 'success',
      userId: 1,
    });
    expect(r?.duration_ms as number).toBeGreaterThanOrEqual(15);
  });

  it('logs failures at error with the error, and rethrows the same error', async () => {
    const { logger, records } = captureLogger();
    const boom = new Error('nope');
    await expect(timed('op.fail', () => Promise.reject(boom), undefined, { logger })).rejects.toBe(boom);
    await expect(
      timed(
        'op.sync',
        () => {
          throw boom;
        },
        undefined,
        { logger },
      ),
    ).rejects.toBe(boom);
    expect(records().map((r) => [r.level, r.outcome, (r.error as { message: string }).message])).toEqual([
      ['error', 'error', 'nope'],
      ['error', 'error', 'nope'],
    ]);
  });

  it('slowThresholdMs raises the level and marks the record slow', async () => {
    const { logger, records } = captureLogger();
    await timed('fast', () => 1, undefined, { logger, slowThresholdMs: 1000 });
    await timed('slow', () => sleep(30), undefined, { logger, slowThresholdMs: 10 });
    expect(records().map((r) => [r.operation, r.level, r.slow ?? false])).toEqual([
      ['fast', 'info', false],
      ['slow', 'warn', true],
    ]);
  });

  it('a timer ends once, whatever is called after', () => {
    const { logger, records } = captureLogger();
    const t = startTimer('job', { batch: 3 }, { logger });
    const first = t.done({ rows: 10 });
    expect(t.fail(new Error('late'))).toBe(first);
    expect(records()).toHaveLength(1);
    expect(records()[0]).toMatchObject({ operation: 'job', outcome: 'success', batch: 3, rows: 10 });
  });

  it('records the operation.duration{operation} histogram', async () => {
    const { logger } = captureLogger();
    await timed('cache.load', () => sleep(5), undefined, { logger });
    await timed('cache.load', () => sleep(5), undefined, { logger });
    await timed('other', () => 1, undefined, { logger });
    const points = (await m.collect()).get('operation.duration') ?? [];
    const load = points.find(
      (p) => p.attributes.operation === 'cache.load' && p.attributes.outcome === 'success',
    );
    const hist = load?.value as { count: number; sum: number } | undefined;
    expect(hist?.count).toBe(2);
    expect(hist?.sum).toBeGreaterThanOrEqual(8);
    expect(points.some((p) => p.attributes.operation === 'other')).toBe(true);
  });
});

describe('log.records{level} counter', () => {
  it('counts every written record by level (and not the filtered ones)', async () => {
    const m = startMetrics();
    try {
      const { logger } = captureLogger({ level: 'info' });
      const before = new Map(
        ((await m.collect()).get('log.records') ?? []).map((p) => [p.attributes.level, p.value as number]),
      );
      logger.error('e1');
      logger.error('e2');
      logger.warn('w');
      logger.info('i');
      logger.debug('filtered');
      const after = new Map(
        ((await m.collect()).get('log.records') ?? []).map((p) => [p.attributes.level, p.value as number]),
      );
      const delta = (lvl: string) => (after.get(lvl) ?? 0) - (before.get(lvl) ?? 0);
      expect([delta('error'), delta('warn'), delta('info'), delta('debug')]).toEqual([2, 1, 1, 0]);
    } finally {
      await m.stop();
    }
  });
});
