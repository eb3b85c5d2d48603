import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateLines } from './generateLogs';
import { CLI, closedPort, PKG, requireBuilt, runBin, startBin, tempDir, waitUntil } from './helpers';

// Child processes and generated inputs on a shared 2-core machine: jest's 5 s default is too short.
jest.setTimeout(120_000);

const T0 = Date.UTC(2024, 4, 1);
let t: ReturnType<typeof tempDir>;
let log: string;

beforeAll(() => {
  requireBuilt();
  t = tempDir();
  log = join(t.dir, 'app.log');
  writeFileSync(log, `${[...generateLines({ lines: 2000, malformedEvery: 100 })].join('\n')}\n`);
});
afterAll(() => t.cleanup());

const line = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    timestamp: new Date(T0 + i * 1000).toISOString(),
    level: 'error',
    message: `failure ${i}`,
    'service.name': 'svc',
    'error.code': 'E',
    'error.category': 'internal',
    'error.severity': 'high',
    ...extra,
  });

describe('the mem0-logs executable', () => {
  it('is the bin entry: a checked-in launcher (linked by npm before dist/ exists) running the compiled CLI', async () => {
    const pkg = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ 'mem0-logs': './bin/mem0-logs.js' });
    const launcher = join(PKG, 'bin', 'mem0-logs.js');
    expect(readFileSync(launcher, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(statSync(launcher).mode & 0o111).not.toBe(0);
    expect(readFileSync(CLI, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(pkg.files).toEqual(expect.arrayContaining(['bin', 'dist', 'rules']));
    const viaLauncher = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(launcher, ['--help'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(viaLauncher.code).toBe(0);
    expect(viaLauncher.out).toContain('Usage: mem0-logs <command>');
  });

  it('exits 0 on success, 1 when an alert fires, 2 on bad arguments, 3 when Loki is down', async () => {
    const ok = await runBin(['errors', '--json', '--quiet', log]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).input.malformed).toBe(20);

    const rules = join(t.dir, 'rules.yaml');
    writeFileSync(rules, 'rules:\n  - name: AnyError\n    expr: error_count > 0\n');
    const firing = await runBin(['alerts', '--rules', rules], { input: `${line(1)}\n` });
    expect(firing.code).toBe(1);
    expect(firing.stdout).toContain('FIRING');

    const bad = await runBin(['latency', '--top', '0', log]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'mem0-logs: --top must be an integer from 1 to 10000 (got "0")\nRun \'mem0-logs latency --help\' for usage.\n',
    );

    const down = await runBin([
      'errors',
      '--loki',
      `http://127.0.0.1:${await closedPort()}`,
      '--query',
      '{a="b"}',
    ]);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/^mem0-logs: cannot reach Loki at .*ECONNREFUSED\n$/);
  });

  it('reads piped stdin and stops quietly when its reader goes away (| head)', async () => {
    const piped = await runBin(['errors', '--json', '--quiet'], {
      input: `${line(1)}\n${line(2)}\nnot json\n`,
    });
    expect(JSON.parse(piped.stdout)).toMatchObject({ errors: 2, input: { malformed: 1 } });
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const sh = spawn('bash', ['-o', 'pipefail', '-c', `node ${CLI} errors --quiet ${log} | head -1`]);
      let stderr = '';
      sh.stderr.on('data', (d) => (stderr += d));
      sh.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('follows a growing file across rotation and prints the final result on SIGINT', async () => {
    const live = join(t.dir, 'live.log');
    writeFileSync(live, `${line(1)}\n`);
    const p = startBin(['errors', '--json', '--follow', '--refresh', '300ms', '--poll-ms', '50', live]);
    const lastDoc = () => {
      const docs = p.out().trim().split('\n').filter(Boolean);
      return docs.length > 0 ? JSON.parse(docs[docs.length - 1]!) : undefined;
    };
    try {
      await waitUntil(() => lastDoc()?.errors === 1, 15_000, 'first snapshot');
      appendFileSync(live, `${line(2)}\n${line(3)}\nbroken {\n`);
      // A line written in two pieces must be read once, whole.
      appendFileSync(live, line(4).slice(0, 20));
      await new Promise((r) => setTimeout(r, 200));
      appendFileSync(live, `${line(4).slice(20)}\n`);
      await waitUntil(() => lastDoc()?.errors === 4, 15_000, 'appended lines');
      // logrotate: move the file away, start a new one.
      renameSync(live, `${live}.1`);
      writeFileSync(live, `${line(5)}\n${line(6)}\n`);
      await waitUntil(() => lastDoc()?.errors === 6, 15_000, 'rotated file');
      const exited = new Promise<number | null>((resolve) => p.child.on('close', resolve));
      p.child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(lastDoc()).toMatchObject({ errors: 6, input: { malformed: 1, records: 6 } });
      expect(statSync(`${live}.1`).size).toBeGreaterThan(0);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('alerts --follow evaluates windows ending at the wall clock and exits by the final state', async () => {
    const live = join(t.dir, 'alerts-live.log');
    const rules = join(t.dir, 'follow-rules.yaml');
    writeFileSync(rules, 'rules:\n  - name: AnyError\n    expr: error_count > 0\n    window: 5m\n');
    // Old errors: outside the window that ends now.
    writeFileSync(live, `${line(1)}\n`);
    const p = startBin([
      'alerts',
      '--json',
      '--follow',
      '--rules',
      rules,
      '--refresh',
      '300ms',
      '--poll-ms',
      '50',
      live,
    ]);
    const docs = () =>
      p
        .out()
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    try {
      await waitUntil(() => docs().length > 0, 15_000, 'first evaluation');
      expect(docs()[0].rules[0].state).toBe('ok');
      const nowLine = JSON.stringify({ ...JSON.parse(line(2)), timestamp: new Date().toISOString() });
      appendFileSync(live, `${nowLine}\n`);
      await waitUntil(() => docs().at(-1)?.rules[0].state === 'firing', 15_000, 'firing');
      const exited = new Promise<number | null>((resolve) => p.child.on('close', resolve));
      p.child.kill('SIGINT');
      expect(await exited).toBe(1);
    } finally {
      p.child.kill('SIGKILL');
    }
  });
});
