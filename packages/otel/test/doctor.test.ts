// `mem0-otel doctor`: effective config with secrets redacted, a reachability check of each
// OTLP endpoint, instrumentations and installed modules; exit code 1 on a problem.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type OtlpSink, runNode, startOtlpSink } from '@mem0-stack/testkit';
import { childEnv, ensureBuilt, PKG_DIR, REPO_DIR } from './helpers';

const CLI = join(PKG_DIR, 'dist', 'cli.js');
let sink: OtlpSink;

beforeAll(async () => {
  ensureBuilt();
  sink = await startOtlpSink();
});
afterAll(async () => {
  await sink?.close();
});

describe('mem0-otel doctor', () => {
  it('healthy setup: exit 0, endpoints answer, secrets redacted, modules listed', async () => {
    const before = sink.requests.traces;
    const r = await runNode([CLI, 'doctor'], {
      cwd: REPO_DIR,
      env: childEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url.replace('127.0.0.1', 'user:hunter2@127.0.0.1'),
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20topsecret,x-tenant=acme',
        OTEL_SERVICE_NAME: 'doctor-test',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      }),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('service.name:     doctor-test');
    expect(r.stdout).toMatch(
      /ok {3}traces {3}http:\/\/REDACTED:REDACTED@127\.0\.0\.1:\d+\/v1\/traces {2}HTTP 200/,
    );
    expect(r.stdout).toContain('headers authorization=REDACTED, x-tenant=REDACTED');
    expect(r.stdout).not.toContain('topsecret');
    expect(r.stdout).not.toContain('hunter2');
    expect(r.stdout).toMatch(/pg +will load +pg@\d+\.\d+\.\d+/);
    expect(r.stdout).toMatch(/http +will load +\(built in\)/);
    expect(r.stdout).toMatch(
      /express +will load +express@\d+\.\d+\.\d+ \(http\.route only, no express spans\)/,
    );
    expect(r.stdout).toContain('No problems found.');
    // It really posted to the collector.
    expect(sink.requests.traces).toBeGreaterThan(before);
  });

  it('unreachable collector and bad settings: exit 1 and each problem listed', async () => {
    const r = await runNode([CLI, 'doctor'], {
      cwd: REPO_DIR,
      env: childEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_BSP_MAX_QUEUE_SIZE: 'many' }),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /FAIL traces {3}http:\/\/127\.0\.0\.1:9\/v1\/traces {2}unreachable \(ECONNREFUSED\)/,
    );
    expect(r.stdout).toMatch(/problem\(s\):/);
    expect(r.stdout).toContain('config: OTEL_BSP_MAX_QUEUE_SIZE="many"');
  });

  it('a server that answers 200 but is not an OTLP receiver (an HTML page) is a problem: exit 1', async () => {
    const web = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><p>Welcome</p>');
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    try {
      const r = await runNode([CLI, 'doctor'], {
        cwd: REPO_DIR,
        env: childEnv({
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(web.address() as AddressInfo).port}`,
        }),
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(
        /FAIL traces {3}http:\/\/127\.0\.0\.1:\d+\/v1\/traces {2}.*not an OTLP response/,
      );
      expect(r.stdout).not.toContain('No problems found.');
      expect(r.code).toBe(1);
    } finally {
      await new Promise((r) => web.close(r));
    }
  });

  it('a header node:http refuses is a listed config problem (exit 1), not a crash; the other headers are checked', async () => {
    const before = sink.requests.traces;
    const r = await runNode([CLI, 'doctor'], {
      cwd: REPO_DIR,
      env: childEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=acme,api-key=abc%0Ad3f',
      }),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('config: OTEL_EXPORTER_OTLP_HEADERS has 1 malformed entry (entry 1)');
    expect(r.stdout).toMatch(/ok {3}traces {3}http:\/\/127\.0\.0\.1:\d+\/v1\/traces {2}HTTP 200/);
    expect(r.stdout).not.toContain('d3f');
    expect(sink.requests.traces).toBeGreaterThan(before);
  });

  it('--json prints the report as JSON', async () => {
    const r = await runNode([CLI, 'doctor', '--json'], {
      cwd: REPO_DIR,
      env: childEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key=topsecret',
        OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'winston',
      }),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('topsecret');
    const report = JSON.parse(r.stdout);
    expect(report.exitCode).toBe(0);
    expect(report.endpoints).toHaveLength(3);
    expect(report.instrumentations.find((i: { name: string }) => i.name === 'winston')).toMatchObject({
      enabled: false,
      wouldLoad: false,
    });
    // Lean span detail (the default): express records the route, no spans of its own.
    expect(report.instrumentations.find((i: { name: string }) => i.name === 'express')).toMatchObject({
      wouldLoad: true,
      detail: 'http.route only, no express spans',
    });
  });

  it('unknown command (through the checked-in bin launcher): usage and exit 2', async () => {
    const r = await runNode([join(PKG_DIR, 'bin', 'mem0-otel.js'), 'frobnicate'], {
      cwd: REPO_DIR,
      env: childEnv({}),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: mem0-otel doctor');
  });
});
