import { spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { generateLines, writeLogFile } from './generateLogs';
import {
  CLI,
  type LokiEntry,
  type LokiStandIn,
  PKG,
  requireBuilt,
  startLokiStandIn,
  startTempoStandIn,
  type TempoStandIn,
  tempDir,
  tempoTrace,
} from './helpers';

// Runs every README command as a shell would: a generated workspace and child processes.
jest.setTimeout(300_000);

/**
 * Docs do not rot: every `mem0-logs` command in README.md's sh blocks is run in a shell
 * against a generated app.log, with Loki (localhost:3100) and Tempo (localhost:3200)
 * replaced by local stand-ins; `# exit N` annotates an expected non-zero exit, `# runs until
 * Ctrl-C` a follow-mode command (stopped with SIGINT once it printed a result). The YAML
 * blocks headed `# rules.yaml` / `# fields.yaml` become those files, and the TypeScript
 * library example is compiled and run too.
 */
const README = readFileSync(join(PKG, 'README.md'), 'utf8');
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

function blocks(lang: string): string[] {
  return [...README.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]!);
}

type Example = { line: string; command: string; exit: number; follow: boolean };

const examples: Example[] = blocks('sh')
  .flatMap((b) => b.split('\n'))
  .filter((l) => l.includes('mem0-logs ') && !l.trim().startsWith('npm '))
  .map((line) => {
    const hash = line.search(/\s#\s/);
    const comment = hash === -1 ? '' : line.slice(hash + 2);
    const exit = /exit (\d)/.exec(comment);
    return {
      line,
      command: (hash === -1 ? line : line.slice(0, hash)).trim(),
      exit: exit ? Number(exit[1]) : 0,
      follow: comment.includes('runs until Ctrl-C'),
    };
  });

let t: ReturnType<typeof tempDir>;
let loki: LokiStandIn;
let tempo: TempoStandIn;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  requireBuilt();
  t = tempDir('mem0-logs-readme-');
  // The same sample as the README's output excerpt.
  await writeLogFile(join(t.dir, 'app.log'), { lines: 20_000, malformedEvery: 250, firstTraceId: TRACE });
  mkdirSync(join(t.dir, 'logs', 'archive'), { recursive: true });
  copyFileSync(join(t.dir, 'app.log'), join(t.dir, 'logs', 'app.log'));
  writeFileSync(
    join(t.dir, 'logs', 'archive', 'old.log'),
    `${[...generateLines({ lines: 500, seed: 3 })].join('\n')}\n`,
  );
  writeFileSync(
    join(t.dir, 'legacy.log'),
    `${JSON.stringify({ app: 'billing', 'err.id': 'E42', 'err.kind': 'database', message: 'db down', level: 'error' })}\n`,
  );
  for (const yaml of blocks('yaml')) {
    const name = /^# ([\w-]+\.yaml)\n/.exec(yaml)?.[1];
    if (name) writeFileSync(join(t.dir, name), yaml);
  }
  // A shim so the README's `mem0-logs` runs the compiled CLI.
  const bin = join(t.dir, '.bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'mem0-logs'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'mem0-logs'), 0o755);
  env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };

  // Loki holds the same records, re-stamped into the last 20 minutes.
  const now = Date.now();
  const lines = readFileSync(join(t.dir, 'app.log'), 'utf8').split('\n').filter(Boolean);
  const entries: LokiEntry[] = [];
  lines.forEach((line, i) => {
    const ms = now - 20 * 60_000 + Math.floor((i * 19 * 60_000) / lines.length);
    let rec: Record<string, unknown> | null;
    try {
      rec = JSON.parse(line);
    } catch {
      return;
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return;
    rec.timestamp = new Date(ms).toISOString();
    entries.push({
      ts: BigInt(ms) * 1_000_000n + BigInt(i % 1000),
      line: JSON.stringify(rec),
      labels: { service_name: String(rec['service.name']) },
    });
  });
  loki = await startLokiStandIn(entries);
  tempo = await startTempoStandIn({
    [TRACE]: tempoTrace(TRACE, [
      {
        id: 'aaaaaaaaaaaaaaaa',
        name: 'GET /memories/:id',
        service: 'memory-service',
        startMs: Date.UTC(2024, 4, 1),
        durationMs: 260,
      },
    ]),
  });
});

afterAll(async () => {
  await loki?.close();
  await tempo?.close();
  t?.cleanup();
});

function shell(example: Example): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const command = example.command
    .replaceAll('http://localhost:3100', loki.url)
    .replaceAll('http://localhost:3200', tempo.url);
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { cwd: t.dir, env, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const kill = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 120_000);
    if (example.follow) {
      const poll = setInterval(() => {
        if (/Errors: /.test(stdout)) {
          clearInterval(poll);
          process.kill(-child.pid!, 'SIGINT');
        }
      }, 50);
      child.on('close', () => clearInterval(poll));
    }
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('README examples', () => {
  it('shows every command', () => {
    const commands = new Set(examples.map((e) => /mem0-logs (\w+)/.exec(e.command)?.[1]));
    expect([...commands].sort()).toEqual(['alerts', 'errors', 'latency', 'report', 'trace']);
    expect(examples.length).toBeGreaterThanOrEqual(15);
  });

  it.each(examples.map((e) => [e.line.trim(), e] as const))('%s', async (_line, example) => {
    const r = await shell(example);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: example.exit, stderr: expect.any(String) });
    expect(r.stderr).not.toContain('internal error');
    const out = /(?:>|--out) (\S+)/.exec(example.command)?.[1];
    if (out) {
      expect(statSync(join(t.dir, out)).size).toBeGreaterThan(100);
    } else {
      expect(r.stdout.length).toBeGreaterThan(50);
    }
    if (example.command.includes('--json') && !out) expect(() => JSON.parse(r.stdout)).not.toThrow();
    if (example.command.includes('--tempo')) expect(r.stdout).toContain('1 spans (Tempo)');
    if (example.command.includes('--loki')) expect(r.stdout).toMatch(/loki http:\/\/127\.0\.0\.1/);
  });

  it('runs the library example', async () => {
    const ts = blocks('ts')[0]!.replace(
      "'@mem0-stack/log-analysis'",
      JSON.stringify(join(PKG, 'src', 'index.ts')),
    );
    writeFileSync(join(t.dir, 'example.ts'), ts);
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [require.resolve('tsx/cli'), 'example.ts'], { cwd: t.dir });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/key: 'timeout'/);
    expect(existsSync(join(t.dir, 'example.ts'))).toBe(true);
  });
});
