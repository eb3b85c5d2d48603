import { compileFields, type FieldConfig } from './internal/fields';
import { createEventReader, type LogEvent } from './internal/readEvent';

/**
 * Turns parsed JSON log records into the LogEvents the analyses consume, through the field
 * table (contract names first, then common aliases and Loki's `_` spellings).
 * @example
 * const read = createLogEventReader({ fields: { route: ['req.route'] } });
 * const stats = createErrorStats();
 * stats.add(read(JSON.parse(line)));
 */
export function createLogEventReader(
  config: FieldConfig = {},
): (record: Record<string, unknown>) => LogEvent {
  return createEventReader(compileFields(config));
}
