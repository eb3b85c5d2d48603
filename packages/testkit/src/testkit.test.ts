import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createClient } from 'redis';
import {
  createTestDatabase,
  freePort,
  jsonLines,
  runNode,
  startCollector,
  startOtlpSink,
  startRedisServer,
} from './index';

describe('testkit', () => {
  it('gives a free port', async () => {
    const p = await freePort();
    expect(p).toBeGreaterThan(0);
  });

  it('starts, stops and restarts a dedicated redis-server', async () => {
    const r = await startRedisServer();
    const c = createClient({ url: r.url });
    await c.connect();
    expect(await c.ping()).toBe('PONG');
    await c.destroy();
    await r.stop();
    await r.start();
    const c2 = createClient({ url: r.url });
    await c2.connect();
    expect(await c2.ping()).toBe('PONG');
    await c2.destroy();
    await r.stop();
  });

  it('creates a database of its own', async () => {
    const url = await createTestDatabase('mem0_testkit_test');
    const c = new Client({ connectionString: url });
    await c.connect();
    const r = await c.query('SELECT current_database() AS db');
    expect(r.rows[0].db).toBe('mem0_testkit_test');
    await c.end();
  });

  it('records OTLP/JSON traces and can simulate an outage', async () => {
    const sink = await startOtlpSink();
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'x' } }] },
          scopeSpans: [
            {
              scope: { name: 's' },
              spans: [
                {
                  traceId: 'ab'.repeat(16),
                  spanId: 'cd'.repeat(8),
                  name: 'GET',
                  kind: 2,
                  attributes: [{ key: 'n', value: { intValue: '3' } }],
                },
              ],
            },
          ],
        },
      ],
    };
    const ok = await fetch(`${sink.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(ok.status).toBe(200);
    expect(sink.spans()[0]).toMatchObject({
      name: 'GET',
      traceId: 'ab'.repeat(16),
      attributes: { n: 3 },
      resource: { 'service.name': 'x' },
    });
    sink.setStatus(503);
    const down = await fetch(`${sink.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(down.status).toBe(503);
    expect(sink.requests.traces).toBe(2);
    await sink.close();
  });

  it('runs node and splits JSON lines', async () => {
    const r = await runNode(['-e', 'console.log(JSON.stringify({a:1})); console.log("plain")']);
    expect(r.code).toBe(0);
    const { records, bad } = jsonLines(r.stdout);
    expect(records).toEqual([{ a: 1 }]);
    expect(bad).toEqual(['plain']);
  });
});

describe('testkit cleanup', () => {
  let tmp: string;
  beforeEach(() => {
    // What the helpers create (and leave) lands in a directory of our own.
    tmp = mkdtempSync(join(os.tmpdir(), 'testkit-cleanup-'));
    jest.spyOn(os, 'tmpdir').mockReturnValue(tmp);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a redis-server whose port is taken fails to start instead of answering with the other server', async () => {
    const first = await startRedisServer();
    try {
      await expect(startRedisServer({ port: first.port })).rejects.toThrow(/redis-server/);
    } finally {
      await first.stop();
    }
    // And stop() took the first one down: nothing answers on its port any more.
    const c = createClient({ url: first.url, socket: { reconnectStrategy: false, connectTimeout: 1000 } });
    c.on('error', () => {});
    await expect(c.connect()).rejects.toThrow();
  });

  it('stopping a redis-server removes its scratch directory', async () => {
    const r = await startRedisServer();
    await r.stop();
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('a process that exits while its collector starts leaves no scratch directory behind', async () => {
    // The demo's Ctrl-C during "Starting the telemetry pipeline", a test that dies before afterAll.
    const script = `require('./src/collector.ts').startCollector().catch(() => {});
      setTimeout(() => process.exit(130), 30);`;
    const r = await runNode(['--import', 'tsx', '-e', script], {
      cwd: join(__dirname, '..'),
      env: { ...process.env, TMPDIR: tmp },
      timeoutMs: 20_000,
    });
    expect(r.code).toBe(130);
    expect(readdirSync(tmp).filter((d) => d.startsWith('mem0-'))).toEqual([]);
  });

  it('a collector that fails to start removes its scratch directory', async () => {
    await expect(
      startCollector({ env: { OTELCOL_METRICS_EXPORTERS: '[no_such_exporter]' }, timeoutMs: 10_000 }),
    ).rejects.toThrow(/exited during start/);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
