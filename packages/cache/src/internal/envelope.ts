/**
 * The string stored in Redis for one entry:
 *
 *   m1|<writeId>|<freshUntil>|<staleUntil>|<graceUntil>|<kind><codec>|<tagsLength>|<tagsJson><payload>
 *
 * A plain header (no JSON around the value) keeps an L2 hit at one JSON.parse of the payload,
 * lets a custom serializer own the payload, and lets the write script compare `writeId`
 * without decoding anything. `m1` is the envelope schema version: anything else is foreign.
 */
export const ENVELOPE_VERSION = 'm1';

/** v = a value, u = "not found" (negative entry), T = tombstone left by delete(). */
export type EntryKind = 'v' | 'u' | 'T';
/** j = JSON, r = type-preserving JSON (Date, Buffer, bigint), c = the cache's custom serializer, - = none. */
export type Codec = 'j' | 'r' | 'c' | '-';

export type Header = {
  id: string;
  fresh: number;
  stale: number;
  grace: number;
  kind: EntryKind;
  codec: Codec;
  /** Raw JSON array of tags ('' when none); parsed only when someone needs the tags. */
  tagsJson: string;
  payload: string;
};

export function encodeEntry(
  id: string,
  fresh: number,
  stale: number,
  grace: number,
  kind: EntryKind,
  codec: Codec,
  tags: readonly string[] | undefined,
  payload: string,
): string {
  const tagsJson = tags && tags.length > 0 ? JSON.stringify(tags) : '';
  return `m1|${id}|${fresh}|${stale}|${grace}|${kind}${codec}|${tagsJson.length}|${tagsJson}${payload}`;
}

/** Parses the header; undefined means the string is not one of our entries (foreign or corrupt). */
export function decodeHeader(raw: string): Header | undefined {
  if (raw.charCodeAt(0) !== 109 /* m */ || raw.charCodeAt(1) !== 49 /* 1 */ || raw.charCodeAt(2) !== 124)
    return undefined;
  const p1 = raw.indexOf('|', 3);
  const p2 = p1 < 0 ? -1 : raw.indexOf('|', p1 + 1);
  const p3 = p2 < 0 ? -1 : raw.indexOf('|', p2 + 1);
  const p4 = p3 < 0 ? -1 : raw.indexOf('|', p3 + 1);
  const p5 = p4 < 0 ? -1 : raw.indexOf('|', p4 + 1);
  const p6 = p5 < 0 ? -1 : raw.indexOf('|', p5 + 1);
  if (p6 < 0 || p5 !== p4 + 3) return undefined;
  const fresh = Number(raw.slice(p1 + 1, p2));
  const stale = Number(raw.slice(p2 + 1, p3));
  const grace = Number(raw.slice(p3 + 1, p4));
  const tagLen = Number(raw.slice(p5 + 1, p6));
  const kind = raw[p4 + 1] as EntryKind;
  const codec = raw[p4 + 2] as Codec;
  if (
    !(fresh >= 0 && stale >= fresh && grace >= stale) ||
    !(tagLen >= 0) ||
    p6 + 1 + tagLen > raw.length ||
    (kind !== 'v' && kind !== 'u' && kind !== 'T') ||
    (codec !== 'j' && codec !== 'r' && codec !== 'c' && codec !== '-')
  )
    return undefined;
  return {
    id: raw.slice(3, p1),
    fresh,
    stale,
    grace,
    kind,
    codec,
    tagsJson: tagLen === 0 ? '' : raw.slice(p6 + 1, p6 + 1 + tagLen),
    payload: raw.slice(p6 + 1 + tagLen),
  };
}

/** Tags of a decoded entry; a malformed list reads as no tags (the payload decides validity). */
export function headerTags(h: Header): string[] | undefined {
  if (h.tagsJson === '') return undefined;
  try {
    const t: unknown = JSON.parse(h.tagsJson);
    return Array.isArray(t) && t.every((x) => typeof x === 'string') ? t : undefined;
  } catch {
    return undefined;
  }
}
