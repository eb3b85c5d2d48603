import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createErrorStats } from '../src/errorStats';
import { compileFields } from '../src/internal/fields';
import { createEventReader } from '../src/internal/readEvent';
import { cli, requireBuilt, runBin, tempDir } from './helpers';

jest.setTimeout(120_000);

const T0 = Date.UTC(2024, 4, 1, 0, 0, 0);

let t: ReturnType<typeof tempDir>;
let small: string;

beforeAll(() => {
  t = tempDir('mem0-logs-regressions-');
  small = join(t.dir, 'small.log');
  writeFileSync(
    small,
    `${[0, 1, 2]
      .map((i) =>
        JSON.stringify({
          timestamp: new Date(T0 + i * 1000).toISOString(),
          level: 'error',
          message: `boom ${i}`,
          'service.name': 'svc',
          'error.code': 'E',
          'error.category': 'internal',
        }),
      )
      .join('\n')}\n`,
  );
});
afterAll(() => t.cleanup());

const read = createEventReader(compileFields());

describe('regressions', () => {
  it('trace --limit above ~120k lines renders instead of crashing with a stack overflow', async () => {
    const file = join(t.dir, 'trace.log');
    const n = 150_000;
    const lines: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      lines[i] = JSON.stringify({
        timestamp: new Date(T0 + i).toISOString(),
        level: 'info',
        message: `step ${i}`,
        trace_id: 'abc',
      });
    }
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await cli(['trace', 'abc', '--limit', '1000000', '--quiet', file]);
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Trace abc · ${n} log lines`);
    expect(r.stdout).toContain('step 149999');
  });

  it('an unreadable .gz file is a usage error (exit 2), not an unhandled stream error (exit 1)', async () => {
    requireBuilt();
    // Reading /proc/self/mem at offset 0 fails with EIO: stands in for EACCES & co. (we may be root).
    const gz = join(t.dir, 'broken.log.gz');
    symlinkSync('/proc/self/mem', gz);
    const r = await runBin(['errors', '--quiet', gz], { timeoutMs: 20_000 });
    expect(r.stderr).not.toContain("Unhandled 'error' event");
    expect(r.stderr).toContain('cannot read');
    expect(r.code).toBe(2);
  });

  it.each([
    ['--since', '5'],
    ['--since', '90'],
    ['--until', '0'],
    ['--since', 'May 1'],
  ])(
    '%s %s (neither a duration nor ISO-8601) is a usage error, not a year Date.parse guessed',
    async (flag, value) => {
      const r = await cli(['errors', '--json', '--quiet', flag, value, small], { now: T0 + 3_600_000 });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--${flag.slice(2)} must be`);
    },
  );

  it('ISO-8601 and epoch-ms --since/--until keep working', async () => {
    const iso = await cli(['errors', '--json', '--quiet', '--since', '2024-05-01T00:00:01Z', small]);
    expect(iso.code).toBe(0);
    expect(JSON.parse(iso.stdout).input.filtered).toBe(1);
    const day = await cli(['errors', '--json', '--quiet', '--until', '2024-05-02', small]);
    expect(day.code).toBe(0);
    expect(JSON.parse(day.stdout).records).toBe(3);
    const ms = await cli(['errors', '--json', '--quiet', '--since', String(T0 + 2000), small]);
    expect(JSON.parse(ms.stdout).records).toBe(1);
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])(
    'command name "%s" (an Object.prototype key) is an unknown command with exit 2',
    async (cmd) => {
      const r = await cli([cmd, '--quiet', small]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('unknown command');
    },
  );

  it('help <Object.prototype key> is an unknown help topic, not a printed function', async () => {
    const r = await cli(['help', 'constructor']);
    expect(r.stdout).not.toContain('native code');
    expect(r.code).toBe(2);
  });

  it('error codes beyond the 1000-key cap are counted under (other), as documented', () => {
    const stats = createErrorStats();
    const total = 1200;
    for (let i = 0; i < total; i++) {
      stats.add(
        read({
          timestamp: new Date(T0 + i).toISOString(),
          level: 'error',
          message: 'x',
          'service.name': `svc-${i}`,
          'error.code': `CODE_${i}`,
          'error.category': 'internal',
        }),
      );
    }
    const r = stats.result();
    expect(r.errors).toBe(total);
    expect(r.byCode.reduce((s, c) => s + c.count, 0)).toBe(total);
    expect(r.byCode.find((c) => c.code === '(other)')?.count).toBe(total - 1000);
    expect(r.byService.reduce((s, c) => s + c.records, 0)).toBe(total);
    expect(r.byService.find((c) => c.service === '(other)')?.errors).toBe(total - 1000);
  });

  it('a breaker-open line without a timestamp does not erase the breaker lastOpened', () => {
    const stats = createErrorStats();
    const open = (ts?: string) =>
      read({
        ...(ts ? { timestamp: ts } : {}),
        level: 'warn',
        message: 'circuit breaker opened',
        'resilience.name': 'db',
        'resilience.circuit.to': 'open',
      });
    stats.add(open('2024-05-01T00:00:05.000Z'));
    stats.add(open());
    const b = stats.result().recovery.breakers.find((x) => x.name === 'db');
    expect(b?.opens).toBe(2);
    expect(b?.lastOpened).toBe('2024-05-01T00:00:05.000Z');
  });
});
