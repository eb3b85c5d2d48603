import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { allDocs, anchors, DOCS, REPO, readDoc, relativeLinks } from './helpers/markdown';

// Every relative link in docs/*.md must point at a file or directory that exists and, when it
// names an anchor in a markdown file, at a heading that exists (GitHub's anchor rules).

type Link = { doc: string; line: number; target: string };

const links: Link[] = allDocs().flatMap((doc) =>
  relativeLinks(readDoc(doc)).map((l) => ({ doc, line: l.line, target: l.target })),
);

function problem(link: Link): string | undefined {
  const [pathPart, anchor] = link.target.split('#', 2) as [string, string | undefined];
  const file = pathPart === '' ? join(DOCS, link.doc) : join(DOCS, decodeURIComponent(pathPart));
  if (!file.startsWith(REPO)) return `points outside the repository (${relative(REPO, file)})`;
  if (!existsSync(file)) return `${relative(REPO, file)} does not exist`;
  if (anchor === undefined || anchor === '') return undefined;
  if (statSync(file).isDirectory() || !file.endsWith('.md')) return `anchor on a non-markdown target`;
  const known = anchors(readFileSync(file, 'utf8'));
  if (!known.has(anchor))
    return `no heading with anchor #${anchor} in ${relative(REPO, file)} (has: ${[...known].join(', ')})`;
  return undefined;
}

describe('relative links in docs/*.md', () => {
  it('finds the links to check', () => {
    expect(links.length).toBeGreaterThan(40);
    expect(new Set(links.map((l) => l.doc)).size).toBeGreaterThanOrEqual(5);
  });

  it.each(allDocs())('%s: every relative link resolves', (doc) => {
    const broken = links
      .filter((l) => l.doc === doc)
      .map((l) => ({ at: `${doc}:${l.line} → ${l.target}`, problem: problem(l) }))
      .filter((b) => b.problem !== undefined);
    expect(broken).toEqual([]);
  });

  it('resolves anchors the way GitHub does (headings with code, dashes, duplicates)', () => {
    const md = '# A `b` — c\n## Same\n## Same\n```\n# not a heading\n```\n<a id="custom"></a>\n';
    expect([...anchors(md)].sort()).toEqual(['a-b--c', 'custom', 'same', 'same-1']);
  });
});
