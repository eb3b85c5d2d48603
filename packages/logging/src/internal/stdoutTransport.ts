import { writeSync } from 'node:fs';

import TransportStream = require('winston-transport');

import { countDropped } from './metrics';
import { MESSAGE } from './symbols';

/** Anything with a `write(string)`: process.stdout, a file stream, a test sink. */
export type Destination = {
  write(chunk: string): unknown;
  on?: (event: 'error', fn: (err: unknown) => void) => unknown;
  /** The stream whose 'error' events `on` listens to, when the destination only wraps it. */
  stream?: object;
};

/** Brands our own transports: the logger may deliver to them directly (see createLogger). */
export const OWN_TRANSPORT = Symbol.for('@mem0-stack/logging.ownTransport');

// Marked on the stream itself (a registered symbol), not in a module-level set: duplicate copies
// of this package, or module registries reset per test file, would otherwise each add a listener
// to the one process.stdout and trip Node's MaxListenersExceededWarning.
const GUARDED = Symbol.for('@mem0-stack/logging.stdoutErrorGuard');

/**
 * Writes each record's pre-serialised line to the destination. It never emits `error`
 * (winston would re-emit it on the logger and crash an app without a listener): failed
 * writes are counted as `telemetry.dropped{signal="logs"}` and the app carries on.
 */
export class StdoutTransport extends TransportStream {
  readonly [OWN_TRANSPORT] = true;
  private readonly dest: Destination;

  constructor(dest: Destination, opts: TransportStream.TransportStreamOptions = {}) {
    super(opts);
    this.dest = dest;
    // An EPIPE on stdout (reader went away) is emitted asynchronously as 'error' on the
    // stream; without a listener that kills the process, so absorb it once per destination.
    const marked = (dest.stream ?? dest) as { [GUARDED]?: true };
    if (typeof dest.on === 'function' && marked[GUARDED] !== true) {
      marked[GUARDED] = true;
      dest.on('error', () => countDropped());
    }
  }

  override log(info: Record<string | symbol, unknown>, callback: () => void): void {
    try {
      this.dest.write(`${info[MESSAGE] as string}\n`);
    } catch {
      countDropped();
    }
    callback();
  }
}

/**
 * process.stdout, written with one write(2) per line straight to fd 1 (as pino does):
 * on Linux process.stdout is synchronous for files, pipes and TTYs anyway, so skipping its
 * Writable machinery changes no ordering and saves about a microsecond per line. If the fd
 * is non-blocking and the kernel says EAGAIN, the rest of the line and every later line
 * go through process.stdout (which queues), so order is kept. A replaced
 * `process.stdout.write` (spy, capture library) is always honoured.
 */
export function stdoutDestination(): Destination {
  const out = process.stdout;
  const fd = (out as { fd?: unknown }).fd;
  if (process.platform === 'win32' || fd !== 1) return out;
  let direct = true;
  const streamWrite = Object.getPrototypeOf(out).write as unknown;
  return {
    write(line: string): boolean {
      // Someone replaced process.stdout.write (a test spy, an output capture): honour it.
      if (!direct || out.write !== streamWrite) return out.write(line);
      let written = 0;
      try {
        written = writeSync(fd, line);
        const total = Buffer.byteLength(line);
        if (written === total) return true;
        // A partial write (pipe buffer nearly full): finish the line from its bytes.
        const buf = Buffer.from(line, 'utf8');
        while (written < total) written += writeSync(fd, buf, written);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        direct = false;
        return out.write(written === 0 ? line : Buffer.from(line, 'utf8').subarray(written));
      }
    },
    on: (event, fn) => out.on(event, fn),
    // Each call makes a new wrapper around the one process.stdout: the guard marks the stream.
    stream: out,
  };
}
