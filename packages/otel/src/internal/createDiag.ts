import type { LogLevel } from '../readConfig';

const RANK: Record<LogLevel, number> = { none: 0, error: 1, warn: 2, info: 3, debug: 4, verbose: 5, all: 6 };

/** The package's own diagnostics: one prefixed line on stderr per message. */
export type Diag = {
  readonly level: LogLevel;
  enabled(level: Exclude<LogLevel, 'none' | 'all'>): boolean;
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  /** Warns at most once per key for the life of the process. */
  warnOnce(key: string, message: string): void;
};

const warnedKeys = new Set<string>();

export function createDiag(level: LogLevel, write: (line: string) => void = defaultWrite): Diag {
  const rank = RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'none' | 'all'>, message: string) => {
    if (RANK[lvl] <= rank) write(`[@mem0-stack/otel] ${lvl}: ${message}\n`);
  };
  return {
    level,
    enabled: (lvl) => RANK[lvl] <= rank,
    error: (m) => emit('error', m),
    warn: (m) => emit('warn', m),
    info: (m) => emit('info', m),
    debug: (m) => emit('debug', m),
    warnOnce(key, m) {
      if (warnedKeys.has(key)) return;
      warnedKeys.add(key);
      emit('warn', m);
    },
  };
}

function defaultWrite(line: string): void {
  try {
    process.stderr.write(line);
  } catch {
    // stderr closed (EPIPE): diagnostics are best effort.
  }
}
