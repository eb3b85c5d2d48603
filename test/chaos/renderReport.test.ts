// The report writer itself: generated text must survive Markdown and Biome unchanged, or a chaos
// run leaves docs/reliability.md failing `npm run lint` (it once turned `__proto__` into bold).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@mem0-stack/testkit';
import { renderReport } from './helpers/renderReport';
import type { ScenarioResult } from './helpers/results';

const result: ScenarioResult = {
  id: 'x',
  order: 1,
  title: 'Hostile *input*',
  load: 'a | b',
  fault: 'none',
  requests: 3,
  failed: 0,
  figures: { dropped_total: '2 of *3*' },
  tests: ['a metadata key named __proto__ is refused', 'plain'],
  passed: ['plain'],
  startedAt: '2026-11-25T00:00:00.000Z',
  finishedAt: '2026-11-25T00:01:00.000Z',
};

describe('renderReport', () => {
  it('escapes Markdown emphasis and table pipes in generated text', () => {
    const md = renderReport([result]);
    expect(md).toContain('- ✗ a metadata key named \\_\\_proto\\_\\_ is refused');
    expect(md).toContain('- ✓ plain');
    expect(md).toContain('## Hostile \\*input\\*');
    expect(md).toContain('- dropped\\_total: 2 of \\*3\\*');
    expect(md).toContain('| a \\| b |');
  });

  it('keeps the escaped text through Biome formatting', () => {
    const out = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome'),
        'format',
        '--stdin-file-path=r.md',
      ],
      { input: renderReport([result]), encoding: 'utf8' },
    );
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('\\_\\_proto\\_\\_');
    expect(out.stdout).not.toContain('**proto**');
  });
});
