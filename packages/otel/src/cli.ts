#!/usr/bin/env node
// `mem0-otel doctor [--json]`: checks configuration, collector reachability and instrumentations.
import { runDoctor } from './doctor';

const USAGE = `Usage: mem0-otel doctor [--json]

  doctor   print the effective OTEL_* configuration (secrets redacted), POST an empty OTLP
           payload to each configured endpoint, list the instrumentations that would load
           and which target modules are installed. Exits 1 when a problem is found.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command !== 'doctor') {
    process.stderr.write(`mem0-otel: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  const json = rest.includes('--json');
  const report = await runDoctor({ write: json ? () => {} : undefined });
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`mem0-otel: ${(err as Error)?.stack ?? err}\n`);
    process.exitCode = 2;
  },
);
