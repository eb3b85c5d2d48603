import { spawn } from 'node:child_process';
import { join } from 'node:path';

jest.setTimeout(30_000);

const FLOOD = join(__dirname, 'fixtures', 'flood.js');

function runFlood(
  onStdout: (child: ReturnType<typeof spawn>) => void,
): Promise<{ code: number | null; stderr: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FLOOD], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let bytes = 0;
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    child.stdout?.on('data', (d: Buffer) => {
      bytes += d.length;
    });
    onStdout(child);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, bytes }));
  });
}

describe('default stdout destination (direct write(2))', () => {
  it('delivers every line intact through a pipe', async () => {
    const chunks: Buffer[] = [];
    const r = await runFlood((child) => child.stdout?.on('data', (d: Buffer) => chunks.push(d)));
    expect(r.code).toBe(0);
    const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(5000);
    const outOfOrder = lines.filter((l, i) => JSON.parse(l).i !== i);
    expect(outOfOrder).toEqual([]);
  });

  it('a reader that goes away (EPIPE) does not crash the app', async () => {
    const r = await runFlood((child) => child.stdout?.once('data', () => child.stdout?.destroy()));
    expect(r.stderr).toContain('survived');
    expect(r.code).toBe(0);
  });
});

describe('stdout error guard', () => {
  it('adds one error listener per stream, even across module registries (duplicate copies)', () => {
    const { EventEmitter } = require('node:events') as typeof import('node:events');
    const dest = Object.assign(new EventEmitter(), { write: () => true });
    for (let i = 0; i < 12; i++) {
      jest.isolateModules(() => {
        const { StdoutTransport } =
          require('../src/internal/stdoutTransport') as typeof import('../src/internal/stdoutTransport');
        new StdoutTransport(dest);
      });
    }
    expect(dest.listenerCount('error')).toBe(1);
    // The one listener still absorbs the error instead of letting it crash the process.
    expect(() => dest.emit('error', new Error('EPIPE'))).not.toThrow();
  });
});

describe('stdout error guard on the default destination', () => {
  it('adds one listener to process.stdout however many loggers and module copies use it', () => {
    const before = process.stdout.listenerCount('error');
    for (let i = 0; i < 12; i++) {
      jest.isolateModules(() => {
        const m =
          require('../src/internal/stdoutTransport') as typeof import('../src/internal/stdoutTransport');
        new m.StdoutTransport(m.stdoutDestination());
      });
    }
    expect(process.stdout.listenerCount('error') - before).toBeLessThanOrEqual(1);
  });
});
