import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';

/**
 * A small glob expander (`*`, `?`, `[abc]`, `{a,b}`, `**`) for quoted patterns: the shell
 * expands unquoted ones, but `'logs/**\/*.log'` in cron lines and on Windows reaches us raw.
 * Node 20 has no fs.glob; this is ~60 lines instead of a dependency.
 */
export function hasGlob(pattern: string): boolean {
  return /[*?[{]/.test(pattern);
}

function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open === -1) return [pattern];
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      const body = pattern.slice(open + 1, i);
      const parts: string[] = [];
      let d = 0;
      let last = 0;
      for (let j = 0; j < body.length; j++) {
        if (body[j] === '{') d++;
        else if (body[j] === '}') d--;
        else if (body[j] === ',' && d === 0) {
          parts.push(body.slice(last, j));
          last = j + 1;
        }
      }
      parts.push(body.slice(last));
      const head = pattern.slice(0, open);
      const tail = pattern.slice(i + 1);
      return parts.flatMap((p) => expandBraces(head + p + tail));
    }
  }
  return [pattern];
}

function segmentRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = seg.indexOf(']', i + 1);
      if (close === -1) re += '\\[';
      else {
        const body = seg
          .slice(i + 1, close)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function walk(dir: string, segs: string[], out: Set<string>): void {
  if (segs.length === 0) {
    out.add(dir);
    return;
  }
  const [seg, ...rest] = segs as [string, ...string[]];
  if (seg === '**') {
    walk(dir, rest, out);
    for (const e of safeReaddir(dir)) {
      if (e.isDirectory() && !e.name.startsWith('.')) walk(join(dir, e.name), segs, out);
    }
    return;
  }
  if (!hasGlob(seg)) {
    const p = join(dir, seg);
    if (rest.length === 0) {
      if (exists(p)) out.add(p);
    } else walk(p, rest, out);
    return;
  }
  const re = segmentRegex(seg);
  for (const e of safeReaddir(dir)) {
    if (e.name.startsWith('.') && !seg.startsWith('.')) continue;
    if (!re.test(e.name)) continue;
    if (rest.length === 0) {
      if (e.isFile() || e.isSymbolicLink()) out.add(join(dir, e.name));
    } else if (e.isDirectory() || e.isSymbolicLink()) walk(join(dir, e.name), rest, out);
  }
}

function safeReaddir(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Expands a glob to the matching files, sorted.
 * @example expandGlob('logs/*.log') // ['logs/a.log', 'logs/b.log']
 */
export function expandGlob(pattern: string): string[] {
  const out = new Set<string>();
  for (const p of expandBraces(pattern.split(sep).join('/'))) {
    const abs = isAbsolute(p);
    const segs = p.split('/').filter((s, i) => s.length > 0 || (i === 0 && abs));
    if (abs) segs.shift();
    const firstGlob = segs.findIndex((s) => hasGlob(s));
    const base = segs.slice(0, firstGlob === -1 ? segs.length : firstGlob);
    const root = abs ? join('/', ...base) : base.length > 0 ? join(...base) : '.';
    walk(root, segs.slice(base.length), out);
  }
  return [...out].sort();
}
