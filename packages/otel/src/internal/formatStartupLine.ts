import type { OtelConfig, Signal } from '../readConfig';
import { REDACTED, redactUrl } from './redactUrl';

/** One line for stderr: what is being sent where, with secrets in URLs and headers redacted. */
export function formatStartupLine(
  config: OtelConfig,
  serviceName: string,
  instrumentations: string[],
): string {
  const signals = (['traces', 'metrics', 'logs'] as Signal[]).filter((s) => config[s].exporters.length > 0);
  const endpoints = new Set<string>();
  for (const s of signals) {
    if (config[s].exporters.includes('otlp'))
      endpoints.add(redactUrl(config[s].otlp.url).replace(/\/v1\/(traces|metrics|logs)$/, ''));
  }
  const headerNames = new Set<string>();
  for (const s of signals) for (const h of Object.keys(config[s].otlp.headers)) headerNames.add(h);
  const parts = [
    `service=${serviceName}`,
    `endpoint=${endpoints.size > 0 ? [...endpoints].join(',') : 'none'}`,
    `protocol=${config.traces.otlp.protocol}`,
    `signals=${signals.length > 0 ? signals.map((s) => `${s}:${config[s].exporters.join('+')}`).join(',') : 'none'}`,
    `instrumentations=${instrumentations.length > 0 ? instrumentations.join(',') : 'none'}`,
    `sampler=${config.sampler.name}${config.sampler.name.endsWith('traceidratio') ? `(${config.sampler.ratio})` : ''}`,
  ];
  if (headerNames.size > 0)
    parts.push(`headers=${[...headerNames].map((h) => `${h}=${REDACTED}`).join(',')}`);
  return `started: ${parts.join(' ')}`;
}
