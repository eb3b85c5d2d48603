import { SeverityNumber } from '@opentelemetry/api-logs';
import { captureLogger } from './helpers';
import { type Harness, startHarness } from './otelHarness';

describe('OTel bridge conformance', () => {
  let h: Harness;
  beforeEach(() => {
    h = startHarness();
  });
  afterEach(async () => {
    await h.shutdown();
  });

  it('a record object logged again (now with an error) exports the new record, not the previous one', () => {
    const { logger, records } = captureLogger({ otlp: true });
    const entry: Record<string, unknown> = { message: 'job' };
    logger.info(entry);
    entry.err = new Error('boom');
    logger.error(entry);
    expect(records().map((r) => r.level)).toEqual(['info', 'error']);
    const otel = h.exporter.getFinishedLogRecords();
    expect(otel).toHaveLength(2);
    expect(otel[1]?.severityText).toBe('error');
    expect(otel[1]?.severityNumber).toBe(SeverityNumber.ERROR);
    expect(otel[1]?.attributes['exception.message']).toBe('boom');
  });
});
