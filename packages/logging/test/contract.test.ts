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
