import { getCorrelationId, runWithCorrelation } from '../src';
import { CONTRACT_KEYS, captureLogger } from './helpers';

describe('log record contract', () => {
  it('writes one JSON line per record with the contract fields first, in order, then event fields', () => {
    const { logger, lines, records } = captureLogger();
    logger.info('hello', { userId: 7, plan: 'pro' });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(lines[0]?.trimEnd().includes('\n')).toBe(false);
    const [r] = records();
    expect(Object.keys(r ?? {})).toEqual([...CONTRACT_KEYS, 'userId', 'plan']);
    expect(r).toMatchObject({
      level: 'info',
      message: 'hello',
      'service.name': 'test-svc',
      'service.version': '1.2.3',
      'deployment.environment': 'test',
      userId: 7,
      plan: 'pro',
    });
    expect(new Date(String(r?.timestamp)).toISOString()).toBe(r?.timestamp);
  });

  it('carries the AsyncLocalStorage correlation id across awaits', async () => {
    const { logger, records } = captureLogger();
    await runWithCorrelation('job-42', async () => {
      expect(getCorrelationId()).toBe('job-42');
      await new Promise((r) => setTimeout(r, 5));
      logger.info('after await');
    });
    logger.info('outside');
    expect(records().map((r) => r.correlation_id)).toEqual(['job-42', null]);
  });
});

describe('still a real winston logger', () => {
  it('user transports, silent, data listeners and profiling keep working (winston path)', async () => {
    const winston = (await import('winston')).default;
    const { logger, lines, records } = captureLogger();
    const seen: string[] = [];
    const Transport = (await import('winston-transport')).default;
    class Collect extends Transport {
      override log(info: Record<string | symbol, unknown>, cb: () => void) {
        seen.push(String(info[Symbol.for('message')]));
        cb();
      }
    }
    logger.info('one');
    const extra = new Collect({ level: 'warn' });
    logger.add(extra);
    logger.info('two');
    logger.warn('three');
    logger.remove(extra);
    logger.silent = true;
    logger.error('silenced');
    logger.silent = false;
    const data: unknown[] = [];
    const onData = (d: unknown) => data.push(d);
    logger.on('data', onData);
    logger.info('four');
    logger.off('data', onData);
    logger.info('five');
    logger.startTimer().done({ message: 'profiled' });
    await new Promise((r) => setImmediate(r));
    expect(records().map((r) => r.message)).toEqual(['one', 'two', 'three', 'four', 'five', 'profiled']);
    expect(typeof records()[5]?.durationMs).toBe('number');
    // the extra transport got the same pre-formatted line, filtered by its own level
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0] as string)).toMatchObject({ message: 'three', level: 'warn' });
    expect(data).toHaveLength(1);
    expect(lines.every((l) => l.endsWith('\n'))).toBe(true);
    expect(logger).toBeInstanceOf(winston.Logger);
  });
});
