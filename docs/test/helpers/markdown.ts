import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root and the docs directory. */
export const REPO = resolve(__dirname, '..', '..', '..');
export const DOCS = join(REPO, 'docs');

/** The documents whose commands docs/test owns (the others have their own tests or owners). */
export const OWNED_DOCS = [
  'README.md',
  'architecture.md',
  'operational-runbook.md',
  'troubleshooting-guide.md',
  'production-deployment.md',
] as const;

/** Every markdown file directly in docs/. */
export function allDocs(): string[] {
  return readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .sort();
}

export function readDoc(name: string): string {
  return readFileSync(join(DOCS, name), 'utf8');
}

export type Block = { lang: string; text: string; line: number };

/** Fenced code blocks (``` or ~~~), with the 1-based line of their first content line. */
export function codeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const out: Block[] = [];
  let open: { fence: string; lang: string; start: number; body: string[] } | undefined;
  lines.forEach((raw, i) => {
    const line = raw.trimStart();
    if (!open) {
      const m = /^(`{3,}|~{3,})\s*([\w-]*)/.exec(line);
      if (m) open = { fence: m[1]!, lang: m[2] ?? '', start: i + 2, body: [] };
      return;
    }
    if (line.startsWith(open.fence) && line.slice(open.fence.length).trim() === '') {
      out.push({ lang: open.lang, text: open.body.join('\n'), line: open.start });
      open = undefined;
      return;
    }
    // Blocks inside list items are indented; keep the command text without that indent.
    open.body.push(raw.replace(/^ {0,4}/, ''));
  });
  return out;
}

/** One shell command from a ```bash block, with the annotations of its trailing comment. */
export type DocCommand = {
  doc: string;
  line: number;
  /** `<doc>:<line of the block>`: commands of one block may depend on each other (run in order). */
  block: string;
  /** The command as written, continuation lines joined. */
  text: string;
  /** What bash runs: the text without the trailing `# …` comment. */
  command: string;
  comment: string;
  /** `# exit N …` → N; default 0. */
  exit: number;
  /** `# runs until stopped`: a server started, checked and stopped with SIGTERM. */
  server: boolean;
};

/**
 * Every command line of every ```bash block of `doc`. A line ending in `\` continues on the
 * next; lines that are only a comment are skipped; ` # ` starts the trailing comment.
 */
export function docCommands(doc: string, markdown = readDoc(doc)): DocCommand[] {
  const out: DocCommand[] = [];
  for (const block of codeBlocks(markdown)) {
    if (block.lang !== 'bash') continue;
    const lines = block.text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const first = i;
      let text = lines[i]!.trim();
      while (text.endsWith('\\') && i + 1 < lines.length) {
        i++;
        text = `${text.slice(0, -1).trimEnd()} ${lines[i]!.trim()}`;
      }
      if (text === '' || text.startsWith('#')) continue;
      const hash = text.search(/\s#\s/);
      const comment =
        hash === -1
          ? ''
          : text
              .slice(hash)
              .replace(/^\s#\s/, '')
              .trim();
      const command = (hash === -1 ? text : text.slice(0, hash)).trim();
      const exit = /^exit (\d+)/.exec(comment);
      out.push({
        doc,
        line: block.line + first,
        block: `${doc}:${block.line}`,
        text,
        command,
        comment,
        exit: exit ? Number(exit[1]) : 0,
        server: comment.startsWith('runs until stopped'),
      });
    }
  }
  return out;
}

/**
 * Markdown with fenced blocks blanked (line numbers kept) and, unless `keepInlineCode`,
 * inline code removed: for scanning prose (links, names, headings).
 */
export function prose(markdown: string, keepInlineCode = false): string {
  const lines = markdown.split('\n');
  const kept: string[] = [];
  let fence: string | undefined;
  for (const raw of lines) {
    const line = raw.trimStart();
    const m = /^(`{3,}|~{3,})/.exec(line);
    if (fence === undefined && m) {
      fence = m[1];
      kept.push('');
      continue;
    }
    if (fence !== undefined) {
      if (line.startsWith(fence) && line.slice(fence.length).trim() === '') fence = undefined;
      kept.push('');
      continue;
    }
    kept.push(keepInlineCode ? raw : raw.replace(/(`+)[^`]*?\1/g, ''));
  }
  return kept.join('\n');
}

/** GitHub's heading anchor: lower case, punctuation removed (not `-`/`_`), each space → `-`. */
export function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a markdown file offers: its headings (with GitHub's -1, -2 suffixes) and explicit ids. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(markdown, true).split('\n')) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]!);
  return out;
}

/** Headings with their level, for structure checks. */
export function headings(markdown: string): Array<{ level: number; text: string }> {
  const out: Array<{ level: number; text: string }> = [];
  for (const line of prose(markdown, true).split('\n')) {
    const m = /^(#{1,6})\s+(.*?)\s*$/.exec(line);
    if (m) out.push({ level: m[1]!.length, text: m[2]! });
  }
  return out;
}

/** Relative link targets in the prose of a document (inline links and images). */
export function relativeLinks(markdown: string): Array<{ target: string; line: number }> {
  const out: Array<{ target: string; line: number }> = [];
  prose(markdown)
    .split('\n')
    .forEach((line, i) => {
      for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        out.push({ target, line: i + 1 });
      }
    });
  return out;
}

/** The body of the section under a heading (until the next heading of the same or a higher level). */
export function section(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  // Headings are found in the prose (same line numbers), so `# comments` in code blocks are not.
  const plain = prose(markdown, true).split('\n');
  const start = plain.findIndex((l) => /^#{1,6}\s/.test(l) && l.replace(/^#+\s+/, '').trim() === heading);
  if (start === -1) throw new Error(`no heading "${heading}"`);
  const level = /^#+/.exec(plain[start]!)![0].length;
  const end = plain.findIndex((l, i) => i > start && new RegExp(`^#{1,${level}}\\s`).test(l));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}
