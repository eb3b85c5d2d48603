import { warnOnce } from './warn';

const LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'];

export type LogEnv = { level: string; format: 'json' | 'pretty'; stdout: boolean; otlp: boolean };

function bool(name: string, raw: string | undefined, dflt: boolean): boolean {
  if (raw === undefined || raw.trim() === '') return dflt;
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'on' || v === 'yes') return true;
  if (v === 'false' || v === '0' || v === 'off' || v === 'no') return false;
  warnOnce(`${name}=${JSON.stringify(raw)} is not a boolean; using ${dflt}`);
  return dflt;
}

/** Reads and validates MEM0_LOG_*; a bad value gives one warning naming the variable and the default used. */
export function readEnv(env: NodeJS.ProcessEnv = process.env): LogEnv {
  let level = 'info';
  const rawLevel = env.MEM0_LOG_LEVEL?.trim().toLowerCase();
  if (rawLevel) {
    if (LEVELS.includes(rawLevel)) level = rawLevel;
    else
      warnOnce(
        `MEM0_LOG_LEVEL=${JSON.stringify(env.MEM0_LOG_LEVEL)} is not one of ${LEVELS.join(', ')}; using info`,
      );
  }
  let format: 'json' | 'pretty' = 'json';
  const rawFormat = env.MEM0_LOG_FORMAT?.trim().toLowerCase();
  if (rawFormat) {
    if (rawFormat === 'pretty' || rawFormat === 'json') format = rawFormat;
    else warnOnce(`MEM0_LOG_FORMAT=${JSON.stringify(env.MEM0_LOG_FORMAT)} is not json or pretty; using json`);
  }
  return {
    level,
    format,
    stdout: bool('MEM0_LOG_STDOUT', env.MEM0_LOG_STDOUT, true),
    otlp: bool('MEM0_LOG_OTLP', env.MEM0_LOG_OTLP, true),
  };
}
