import { allowRule, referenceProblems, words } from './helpers/allowList';
import { codeBlocks, docCommands, section } from './helpers/markdown';

// The machinery the other docs tests rely on must notice what it is there to notice.

describe('docCommands', () => {
  it('joins continuation lines, skips comments, reads the annotations, ignores other languages', () => {
    const md = [
      '# T',
      '',
      '1. Step:',
      '',
      '   ```bash',
      '   # a comment line',
      '   A=1 B=2 \\',
      '     node app.js >> out.log   # runs until stopped',
      '   npx mem0-logs alerts --any app.log   # exit 1 when a rule fired',
      '   ```',
      '',
      '```sh',
      'not-a-bash-block',
      '```',
    ].join('\n');
    const cmds = docCommands('fixture.md', md);
    expect(cmds.map((c) => [c.line, c.command, c.exit, c.server])).toEqual([
      [7, 'A=1 B=2 node app.js >> out.log', 0, true],
      [9, 'npx mem0-logs alerts --any app.log', 1, false],
    ]);
    expect(new Set(cmds.map((c) => c.block)).size).toBe(1);
    expect(codeBlocks(md).map((b) => b.lang)).toEqual(['bash', 'sh']);
  });

  it('finds sections by heading, not by comments inside code blocks', () => {
    const md = '# A\n```bash\n# B\n```\n## B\nbody\n## C\n';
    expect(section(md, 'B').trim()).toBe('body');
  });
});

describe('the allow-list checks what a command names', () => {
  it('accepts existing references', () => {
    expect(
      referenceProblems('docker compose -f collector/docker-compose.yaml -p x logs --tail 5 memory-service'),
    ).toEqual([]);
    expect(referenceProblems('npm run bench -w memory-service')).toEqual([]);
  });

  it('reports missing files, services, scripts, workspaces and options', () => {
    expect(referenceProblems('docker compose -f collector/nope.yaml -p x up')).toEqual([
      'collector/nope.yaml does not exist',
    ]);
    expect(referenceProblems('docker compose -f collector/docker-compose.yaml -p x restart jaeger')).toEqual([
      'compose has no service jaeger',
    ]);
    expect(referenceProblems('npm run benchmark')).toEqual(['no npm script benchmark in the root']);
    expect(referenceProblems('npm run bench -w nobody')).toEqual(['no workspace nobody']);
    expect(referenceProblems('npx mem0-logs errors --loki http://localhost:3100 --qery x')).toEqual([
      'mem0-logs errors has no option --qery',
    ]);
    expect(referenceProblems('kubectl rollout undo deployment/billing')).toEqual([
      'no service named billing',
    ]);
  });

  it('matches only what it names', () => {
    expect(allowRule('docker compose ps')).toBeDefined();
    expect(allowRule('npx mem0-logs errors app.log')).toBeUndefined();
    expect(words(`jq -r '.a | "x y"' "my file"`)).toEqual(['jq', '-r', '.a | "x y"', 'my file']);
  });
});
