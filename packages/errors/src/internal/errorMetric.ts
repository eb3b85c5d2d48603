import { type Counter, type MeterProvider, metrics } from '@opentelemetry/api';

// Created on first use, and re-created if the global MeterProvider changes (the SDK may be
// registered after this module loads; a counter from the no-op provider would stay no-op).
let provider: MeterProvider | undefined;
let counter: Counter | undefined;

export function errorCounter(): Counter {
  const current = metrics.getMeterProvider();
  if (counter === undefined || current !== provider) {
    provider = current;
    counter = metrics.getMeter('@mem0-stack/errors').createCounter('app.errors', {
      description: 'Errors recorded by @mem0-stack/errors, by category, severity and code.',
      unit: '{error}',
    });
  }
  return counter;
}
