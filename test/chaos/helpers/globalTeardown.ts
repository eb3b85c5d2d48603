import { writeReport } from './renderReport';

/** After the chaos project's tests: docs/reliability.md from what they recorded. */
export default async function globalTeardown(): Promise<void> {
  if (writeReport()) process.stdout.write('chaos: wrote docs/reliability.md\n');
}
