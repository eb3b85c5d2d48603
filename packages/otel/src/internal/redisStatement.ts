import { defaultDbStatementSerializer } from '@opentelemetry/redis-common';

const SCRIPT = /^(EVAL|EVAL_RO|EVALSHA|EVALSHA_RO|FCALL|FCALL_RO)$/i;

type Arg = string | Buffer | number | unknown;

/**
 * `db.query.text` of a Redis span: upstream's rules (a command's keys, never the value it
 * writes), except for scripts, where upstream keeps every argument: a cache's compare-and-set
 * script carries the cached value itself, so user data reached the traces and each statement
 * was as long as the value. For scripts: the command, the script's sha or name (not an EVAL
 * body), the key count and the first key.
 * @example redisStatement('EVALSHA', [sha, '2', 'k1', 'k2', 'value']) // 'EVALSHA <sha> 2 k1 [3 other arguments]'
 */
export function redisStatement(cmdName: string, cmdArgs: Arg[]): string {
  if (!SCRIPT.test(cmdName)) return defaultDbStatementSerializer(cmdName, cmdArgs as Array<string | Buffer>);
  const head = [/^EVAL(_RO)?$/i.test(cmdName) ? '[script]' : String(cmdArgs[0] ?? '')];
  if (cmdArgs.length > 1) head.push(String(cmdArgs[1]));
  if (Number(cmdArgs[1]) > 0 && cmdArgs.length > 2) head.push(String(cmdArgs[2]));
  const rest = cmdArgs.length - head.length;
  return `${cmdName} ${head.join(' ')}${rest > 0 ? ` [${rest} other arguments]` : ''}`;
}
