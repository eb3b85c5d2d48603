import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { createAlertEvaluator } from '../src/alertEvaluator';
import { parseRules } from '../src/alertRules';
import { compileFields } from '../src/internal/fields';
import { createEventReader } from '../src/internal/readEvent';
import { cli, requireBuilt, runBin, tempDir } from './helpers';

jest.setTimeout(60_000);

const T0 = Date.UTC(2024, 4, 1, 0, 0, 0);
const read = createEventReader(compileFields());

const request = (ms: number, status = 200) =>
  read({
    timestamp: new Date(ms).toISOString(),
    level: 'info',
    message: 'GET /r',
    'service.name': 'svc',
    'http.request.method': 'GET',
    'http.route': '/r',
    'http.response.status_code': status,
    duration_ms: 10,
  });

/** A throwaway HTTP server standing in for Loki's /loki/api/v1/query_range with a custom answer. */
function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const s = createServer(handler);
  return new Promise((resolve) =>
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      resolve({
        url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`,
        close: () =>
          new Promise<void>((r) => {
            s.closeAllConnections();
            s.close(() => r());
          }),
      });
    }),
  );
}

describe('regressions (2)', () => {
  it('a window that is not a multiple of the step still covers the whole window', () => {
    // step 2m, window 5m: the window ending at 00:06 is [00:01, 00:06) and holds the requests
    // at 00:01, 00:02, 00:03 and 00:04 — not only those of the last two 2m buckets.
    const set = parseRules(
      { step: '2m', rules: [{ name: 'Busy', expr: 'request_count >= 4', window: '5m' }] },
      'inline',
    );
    const ev = createAlertEvaluator(set);
    for (let i = 0; i < 5; i++) ev.add(request(T0 + i * 60_000 + 1000));
    const r = ev.result();
    expect(r.evaluatedAt).toBe('2024-05-01T00:06:00.000Z');
    expect(r.rules[0]!.value).toBe(4);
    expect(r.rules[0]!.state).toBe('firing');
  });

  it.each([
    ['error_ratio >= 1.1%', 11, 1000, 'firing'],
    ['error_ratio > 0.7%', 7, 1000, 'ok'],
    ['error_ratio <= 1.4%', 14, 1000, 'firing'],
  ])('"%s" with %i/%i is compared exactly at the threshold', (expr, bad, total, state) => {
    const set = parseRules({ rules: [{ name: 'R', expr, window: '5m' }] }, 'inline');
    const ev = createAlertEvaluator(set);
    for (let i = 0; i < total; i++) ev.add(request(T0 + i * 100, i < bad ? 503 : 200));
    const r = ev.result().rules[0]!;
    expect(r.samples).toBe(total);
    expect(r.state).toBe(state);
  });

  it('Loki: a connection reset while the body is read is a Loki failure (exit 3), not an internal error', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"status":"success","data":{"resultType":"streams","result":[');
      setTimeout(() => res.socket?.destroy(), 30);
    });
    try {
      const r = await cli(['errors', '--json', '--loki', srv.url, '--query', '{a="b"}']);
      expect(r.stderr).not.toContain('internal error');
      expect(r.stderr).toContain('Loki');
      expect(r.code).toBe(3);
    } finally {
      await srv.close();
    }
  });

  it('Loki: a body that stalls past --timeout is a Loki failure (exit 3), not an internal error', async () => {
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"success","data":{"resultType":"streams","result":[');
    });
    try {
      const r = await cli([
        'errors',
        '--json',
        '--timeout',
        '500ms',
        '--loki',
        srv.url,
        '--query',
        '{a="b"}',
      ]);
      expect(r.stderr).not.toContain('internal error');
      expect(r.stderr).toContain('no answer within 500 ms');
      expect(r.code).toBe(3);
    } finally {
      await srv.close();
    }
  });

  it("Loki: a JSON line's own time field (pino `time`) wins over Loki's ingestion timestamp", async () => {
    const lokiTs = (BigInt(T0 + 3_600_000) * 1_000_000n).toString(); // ingested an hour later
    const line = JSON.stringify({
      time: T0, // pino: epoch ms
      level: 'error',
      message: 'boom',
      'error.code': 'E',
      'error.category': 'internal',
    });
    const srv = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: 'success',
          data: {
            resultType: 'streams',
            result: [{ stream: { service_name: 'svc' }, values: [[lokiTs, line]] }],
          },
        }),
      );
    });
    try {
      const r = await cli([
        'errors',
        '--json',
        '--loki',
        srv.url,
        '--query',
        '{service_name="svc"}',
        '--since',
        '2024-04-30T00:00:00Z',
        '--until',
        '2024-05-02T00:00:00Z',
      ]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).period.from).toBe('2024-05-01T00:00:00.000Z');
    } finally {
      await srv.close();
    }
  });

  it('a record timestamp without a zone reads as UTC, whatever the TZ of the machine', async () => {
    requireBuilt();
    const t = tempDir('mem0-logs-tz-');
    try {
      const file = join(t.dir, 'zoneless.log');
      const rec = (timestamp: string) =>
        JSON.stringify({
          timestamp,
          level: 'error',
          message: 'boom',
          'error.code': 'E',
          'error.category': 'c',
        });
      writeFileSync(file, `${rec('2024-05-01T00:00:00.000')}\n${rec('2024-05-01 00:00:05')}\n`);
      const env = { ...process.env, TZ: 'America/New_York' };
      const r = await runBin(['errors', '--json', '--quiet', file], { env, timeoutMs: 20_000 });
      expect(r.code).toBe(0);
      // Date.parse reads a zoneless date-time in the machine's zone (a date alone as UTC).
      expect(JSON.parse(r.stdout).period).toEqual({
        from: '2024-05-01T00:00:00.000Z',
        to: '2024-05-01T00:00:05.000Z',
      });
    } finally {
      t.cleanup();
    }
  });
});
