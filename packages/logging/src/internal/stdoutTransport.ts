import TransportStream = require('winston-transport');

import { countDropped } from './metrics';
import { MESSAGE } from './symbols';

/** Anything with a `write(string)`: process.stdout, a file stream, a test sink. */
export type Destination = {
  write(chunk: string): unknown;
  on?: (event: 'error', fn: (err: unknown) => void) => unknown;
};

const guarded = new WeakSet<object>();

/**
 * Writes each record's pre-serialised line to the destination. It never emits `error`
 * (winston would re-emit it on the logger and crash an app without a listener): failed
 * writes are counted as `telemetry.dropped{signal="logs"}` and the app carries on.
 */
export class StdoutTransport extends TransportStream {
  private readonly dest: Destination;

  constructor(dest: Destination, opts: TransportStream.TransportStreamOptions = {}) {
    super(opts);
    this.dest = dest;
    // An EPIPE on stdout (reader went away) is emitted asynchronously as 'error' on the
    // stream; without a listener that kills the process, so absorb it once per destination.
    if (typeof dest.on === 'function' && !guarded.has(dest)) {
      guarded.add(dest);
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
