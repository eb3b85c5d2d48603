import { createHash } from 'node:crypto';

/** A Lua script sent by EVALSHA, falling back to EVAL when the server does not know it yet. */
export type Script = { readonly source: string; readonly sha: string };

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

// The id of the entry currently stored ('' when none, '?' when the value is not ours).
const CURRENT_ID = `
local cur = redis.call('GET', KEYS[1])
local curId = ''
if cur then curId = string.match(cur, '^m1|([^|]*)|') or '?' end
`;

// Unlinks every key of the table `out`, in chunks: Lua's unpack() has a stack limit.
const UNLINK_ALL = `
for i = 1, #out, 500 do redis.call('UNLINK', unpack(out, i, math.min(i + 499, #out))) end
`;

/**
 * The snapshot a load takes on a standalone server before its loader runs, in one round trip:
 * a re-read of the entry (someone may have just written it), the cross-process lock attempt,
 * the server clock when the load has derived tags (see CAS_WRITE), and the versions the write
 * will be checked against. The entry is read first: a GET that fails (WRONGTYPE) aborts the
 * script before it has taken the lock.
 * KEYS: entry, lock, then epoch and tagVersion×n.
 * ARGV: lock token ('' = no lock attempt), lock px, '1' = read the server time, '1' = read the entry.
 * Returns { locked 0/1, entry or nil, time in µs or '', version or nil per KEYS[3..] }.
 */
export const SNAPSHOT = script(`
if redis.replicate_commands then redis.replicate_commands() end
local raw = false
if ARGV[4] == '1' then raw = redis.call('GET', KEYS[1]) end
local locked = 0
if ARGV[1] ~= '' and redis.call('SET', KEYS[2], ARGV[1], 'PX', tonumber(ARGV[2]), 'NX') then locked = 1 end
local since = ''
if ARGV[3] == '1' then
  local t = redis.call('TIME')
  since = t[1] .. string.format('%06d', tonumber(t[2]))
end
local out = { locked, raw, since }
for i = 3, #KEYS do out[#out + 1] = redis.call('GET', KEYS[i]) end
return out
`);

/**
 * Versioned write used by getOrSet on a standalone server, atomically:
 * the entry must still hold what the loader saw when it started (same write id), and the
 * namespace epoch and every tag version must be unchanged since before the loader ran.
 * Tags derived from the loaded value (`tagsOf`) were unknown before the load, so they have no
 * snapshot: instead none of them may have been invalidated at or after `since`, the server time
 * read before the loader started (INVALIDATE_TAGS stamps versions with that clock).
 * Only then is the value written and registered in all its tag sets. An invalidation that lands
 * while the loader runs changes one of those, so the late write is refused instead of
 * resurrecting old data. Written or not, the load's lock is then released when we hold it (one
 * command less than a separate UNLOCK).
 * KEYS: entry, epoch, tagVersion×n, tagSet×n, derivedVersion×m, derivedSet×m[, lock].
 * ARGV: expectedId, epoch, version×n, value, px, n, m, since, lock token ('' = no lock).
 * Returns 1 written, 0 entry changed, -1 invalidated meanwhile.
 */
export const CAS_WRITE = script(`
local token = ARGV[#ARGV]
local since = tonumber(ARGV[#ARGV - 1])
local m = tonumber(ARGV[#ARGV - 2])
local n = tonumber(ARGV[#ARGV - 3])
local function write()
${CURRENT_ID}
  if curId ~= ARGV[1] then return 0 end
  if (redis.call('GET', KEYS[2]) or '') ~= ARGV[2] then return -1 end
  for i = 1, n do
    if (redis.call('GET', KEYS[2 + i]) or '') ~= ARGV[2 + i] then return -1 end
  end
  for i = 1, m do
    local v = redis.call('GET', KEYS[2 + 2 * n + i])
    if v then
      local at = tonumber(string.match(v, '^(%d+):') or '0')
      if at >= since then return -1 end
    end
  end
  local px = tonumber(ARGV[4 + n])
  redis.call('SET', KEYS[1], ARGV[3 + n], 'PX', px)
  local function register(s)
    redis.call('SADD', s, KEYS[1])
    if redis.call('PTTL', s) < px then redis.call('PEXPIRE', s, px) end
  end
  for i = 1, n do register(KEYS[2 + n + i]) end
  for i = 1, m do register(KEYS[2 + 2 * n + m + i]) end
  return 1
end
local r = write()
if token ~= '' and redis.call('GET', KEYS[#KEYS]) == token then redis.call('DEL', KEYS[#KEYS]) end
return r
`);

/**
 * First step of the cluster write (entry slot only): set if the entry still holds `expectedId`.
 * KEYS: entry. ARGV: expectedId, value, px. Returns 1 written, 0 entry changed.
 */
export const ENTRY_CAS = script(`${CURRENT_ID}
if curId ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', tonumber(ARGV[3]))
return 1
`);

/**
 * Registers an entry in a tag set (tag slot) and returns the tag's current version, so the
 * writer can undo its write when an invalidation slipped in.
 * KEYS: tagVersion, tagSet. ARGV: entryKey, px.
 */
export const TAG_REGISTER = script(`
local px = tonumber(ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('PTTL', KEYS[2]) < px then redis.call('PEXPIRE', KEYS[2], px) end
return redis.call('GET', KEYS[1]) or ''
`);

/** Unconditional tagged set on a standalone server. KEYS: entry, tagSet×n. ARGV: value, px. */
export const SET_TAGGED = script(`
local px = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', px)
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[1])
  if redis.call('PTTL', KEYS[i]) < px then redis.call('PEXPIRE', KEYS[i], px) end
end
return 1
`);

/** Deletes the entry only if it still carries our write id. KEYS: entry. ARGV: id. */
export const DEL_IF_ID = script(`${CURRENT_ID}
if curId == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
`);

/**
 * Invalidates tags: for each, a new version (so in-flight writers fail their check) and its
 * member list. One script for all the tags of a call on a standalone server (a new memory in the
 * example service invalidates its user's lists, any-searches and one tag per lexeme of its
 * content), which also unlinks the members and publishes the bus message: one command where
 * there were three, and no moment where a tag's version has moved but its entries are still
 * readable. On a cluster the members live in other slots: one call per tag, which returns them
 * for the caller to unlink, and the caller publishes. The version is
 * `<server time in µs>:<random>`: the time lets CAS_WRITE tell whether a tag it did not know
 * before the load was invalidated after the load started.
 * KEYS: tagVersion×n, tagSet×n.
 * ARGV: random part, px, '1' = unlink the members here, bus channel, bus message ('' = none).
 * Returns the number of members unlinked here, or every member (flattened) for the caller.
 */
export const INVALIDATE_TAGS = script(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local version = t[1] .. string.format('%06d', tonumber(t[2])) .. ':' .. ARGV[1]
local px = tonumber(ARGV[2])
local n = #KEYS / 2
local out = {}
for i = 1, n do
  redis.call('SET', KEYS[i], version, 'PX', px)
  local m = redis.call('SMEMBERS', KEYS[n + i])
  for j = 1, #m do out[#out + 1] = m[j] end
  redis.call('DEL', KEYS[n + i])
end
if ARGV[3] ~= '1' then return out end
${UNLINK_ALL}
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return #out
`);

/**
 * What a write-through (`Cache.writeThrough`) reads before its write runs: the server clock
 * (when a new value will have derived tags), the namespace epoch, each entry — whole when it
 * is to be recomputed from its cached value, else only its write id — and the version of every
 * tag the new values will carry. An entry holding another Redis type reads as '?' (not ours).
 * KEYS: epoch, entry×E, tagVersion×V.
 * ARGV: '1' = read the server time, then per entry '1' = the whole entry, '' = its write id.
 * Returns { time in µs or '', epoch or nil, entry or id or nil ×E, version or nil ×V }.
 */
export const THROUGH_SNAPSHOT = script(`
local since = ''
if ARGV[1] == '1' then
  local t = redis.call('TIME')
  since = t[1] .. string.format('%06d', tonumber(t[2]))
end
local out = { since, redis.call('GET', KEYS[1]) }
local e = #ARGV - 1
for i = 1, e do
  local cur = redis.pcall('GET', KEYS[1 + i])
  if type(cur) == 'table' then cur = '?' end
  if cur and ARGV[1 + i] ~= '1' then cur = string.match(cur, '^m1|([^|]*)|') or '?' end
  out[#out + 1] = cur
end
for i = 2 + e, #KEYS do out[#out + 1] = redis.call('GET', KEYS[i]) end
return out
`);

/**
 * The end of a write-through, atomically, once the write has run:
 * 1. For each entry with a new value, the guard, read before anything below changes: the
 *    namespace epoch, the entry's write id and the versions of its tags must be what the
 *    snapshot taken before the write saw, and none of the tags derived from the new value may
 *    have been invalidated at or after the snapshot's clock. A cached value recomputed from an
 *    entry that was replaced or invalidated meanwhile, or a value another write has overtaken,
 *    is never stored. The entry's id covers every tag it was cached with: invalidating any of
 *    them deletes it.
 * 2. This call's own invalidation, as INVALIDATE_TAGS (new versions, members unlinked).
 * 3. Each entry gets its new value (registered in its tag sets) when its guard held, otherwise
 *    a tombstone: a new write id either way, so loads that started before cannot write back.
 * 4. The bus message, so other processes drop their L1 copies of the entries and the tags.
 * An entry whose guard fails and that asked for a retry makes the script return { -1 } after
 * step 1, having changed nothing: the caller recomputes it from what is cached now and commits
 * again without retry.
 * KEYS: epoch, then entries, tag versions and tag sets, each once (ARGV refers to them by index).
 * ARGV: epoch, since, nonce, version px, tombstone px, bus channel, bus message ('' = none),
 * entries E, tags I; per entry: entry index, expectedId, value, px, tombstone, checked ('1' =
 * store the value if the guard holds, '2' = the same, or a retry if it fails, '' = tombstone),
 * s, d, then (version index, snapshot version, set index)×s for its tags, (version index, set
 * index)×d for its derived tags; per invalidated tag: version index, set index.
 * Returns one 1 (stored) or 0 (tombstone) per entry, or { -1 } (retry, nothing changed).
 */
export const THROUGH_COMMIT = script(`
if redis.replicate_commands then redis.replicate_commands() end
local function idOf(k)
  local cur = redis.pcall('GET', k)
  if type(cur) == 'table' then return '?' end
  if not cur then return '' end
  return string.match(cur, '^m1|([^|]*)|') or '?'
end
local epochOk = (redis.call('GET', KEYS[1]) or '') == ARGV[1]
local since = tonumber(ARGV[2])
local E = tonumber(ARGV[8])
local I = tonumber(ARGV[9])
local a = 10
local entries = {}
for e = 1, E do
  local x = { key = KEYS[tonumber(ARGV[a])], value = ARGV[a + 2], px = tonumber(ARGV[a + 3]), tomb = ARGV[a + 4], sets = {} }
  local checked = ARGV[a + 5]
  x.retry = checked == '2'
  local ok = checked ~= '' and epochOk and idOf(x.key) == ARGV[a + 1]
  local s = tonumber(ARGV[a + 6])
  local d = tonumber(ARGV[a + 7])
  a = a + 8
  for i = 1, s do
    if ok and (redis.call('GET', KEYS[tonumber(ARGV[a])]) or '') ~= ARGV[a + 1] then ok = false end
    x.sets[#x.sets + 1] = KEYS[tonumber(ARGV[a + 2])]
    a = a + 3
  end
  for i = 1, d do
    if ok then
      local v = redis.call('GET', KEYS[tonumber(ARGV[a])])
      if v and tonumber(string.match(v, '^(%d+):') or '0') >= since then ok = false end
    end
    x.sets[#x.sets + 1] = KEYS[tonumber(ARGV[a + 1])]
    a = a + 2
  end
  x.ok = ok
  entries[e] = x
end
for e = 1, E do
  if entries[e].retry and not entries[e].ok then return { -1 } end
end
local t = redis.call('TIME')
local version = t[1] .. string.format('%06d', tonumber(t[2])) .. ':' .. ARGV[3]
local vpx = tonumber(ARGV[4])
local out = {}
for i = 1, I do
  redis.call('SET', KEYS[tonumber(ARGV[a])], version, 'PX', vpx)
  local set = KEYS[tonumber(ARGV[a + 1])]
  local m = redis.call('SMEMBERS', set)
  for j = 1, #m do out[#out + 1] = m[j] end
  redis.call('DEL', set)
  a = a + 2
end
${UNLINK_ALL}
local tpx = tonumber(ARGV[5])
local stored = {}
for e = 1, E do
  local x = entries[e]
  if x.ok then
    redis.call('SET', x.key, x.value, 'PX', x.px)
    for _, set in ipairs(x.sets) do
      redis.call('SADD', set, x.key)
      if redis.call('PTTL', set) < x.px then redis.call('PEXPIRE', set, x.px) end
    end
    stored[e] = 1
  else
    redis.call('SET', x.key, x.tomb, 'PX', tpx)
    stored[e] = 0
  end
end
if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
return stored
`);

/** Releases a lock only if we still own it. KEYS: lock. ARGV: token. */
export const UNLOCK = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);
