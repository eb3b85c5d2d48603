import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { correlationStorage, getCorrelationId, runWithCorrelation } from './correlation';

const tick = () => new Promise((r) => setTimeout(r, 1));

test('without a context manager the scope lives in its own AsyncLocalStorage', async () => {
  const seen = await runWithCorrelation('no-manager-1', async () => {
    await tick();
    return [getCorrelationId(), correlationStorage.getStore()?.id];
  });
  expect(seen).toEqual(['no-manager-1', 'no-manager-1']);
});

test('under an OTel context manager the scope rides in the OTel context, and follows a manager disabled later', async () => {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  try {
    const seen = await runWithCorrelation('with-manager-1', async () => {
      await tick();
      return [getCorrelationId(), correlationStorage.getStore()?.id];
    });
    // Its own AsyncLocalStorage is not entered: one store copied per promise instead of two.
    expect(seen).toEqual(['with-manager-1', undefined]);
  } finally {
    context.disable();
  }
  const after = await runWithCorrelation('after-disable-1', async () => {
    await tick();
    return getCorrelationId();
  });
  expect(after).toBe('after-disable-1');
});
