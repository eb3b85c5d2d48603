const warned = new Set<string>();

/** Telemetry warnings go to stderr directly (never through a logger that may be misconfigured), once each. */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  try {
    process.stderr.write(`[@mem0-stack/logging] ${message}\n`);
  } catch {
    // stderr gone: nothing sensible left to do
  }
}
