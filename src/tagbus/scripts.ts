/**
 * Lua scripts of the TagBus. Each runs atomically in Redis (one round trip), which is what
 * keeps a stream position and the current-value hashes consistent (docs/tagbus.md).
 * Redis ≥ 6.2 (XADD MAXLEN ~, HSET with many fields).
 */

/**
 * PUBLISH one batch of one producer.
 * KEYS: [stream, seq, pub, reg, regs, cur(root 1), …, cur(root R)]
 * ARGV: [producer, instance, counter, maxlen, maxAgeMs, dropped, dropReason, d, n, expectSeq,
 *        R, root 1…R, then per root r: c_r (fields of that root), then c_r pairs
 *        (path, current value JSON `[value,quality,reason,ts,producer,seq]`)]
 * - skips the batch when `instance:counter` was already committed (a retried call);
 * - returns [-1, counter] and changes nothing when `n` > 0 and the producer's seq counter + 1
 *   is not `expectSeq`: the current values carry their seq already encoded by the client
 *   (`expectSeq + index in the batch`), so Redis does not build one string per sample; the
 *   client re-encodes them from the counter it was given and calls again;
 * - writes an outbox-overflow gap marker entry first when `dropped` > 0;
 * - takes `n` seqs with HINCRBY, XADDs the batch entry, registers new (producer, root)
 *   pairs in `reg` and announces them on `regs` (at the gap marker's id when there is one,
 *   so a subscriber that learns of the producer there reads the marker; with `n` = 0 the
 *   roots are those of the dropped samples), and HSETs each root's current values in one
 *   command (the client sends only the last sample of each path in the batch);
 * - with `maxAgeMs` > 0, trims entries older than that (XTRIM MINID ~, Redis TIME).
 * Returns [firstSeq, entryId], [0, "dup"], [0, "empty"] or [-1, counter].
 */
export const PUBLISH_LUA = `
local producer = ARGV[1]
local inst = ARGV[2]
local ctr = tonumber(ARGV[3])
local last = redis.call('HGET', KEYS[3], producer)
if last then
  local li, lc = string.match(last, '^(.*):(%d+)$')
  if li == inst and tonumber(lc) >= ctr then return {0, 'dup'} end
end
local n = tonumber(ARGV[9])
if n > 0 then
  local have = tonumber(redis.call('HGET', KEYS[2], producer) or '0')
  if have + 1 ~= tonumber(ARGV[10]) then return {-1, have} end
end
redis.call('HSET', KEYS[3], producer, inst .. ':' .. ARGV[3])
local maxlen = ARGV[4]
local gid = nil
if tonumber(ARGV[6]) > 0 then
  gid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'p', producer, 'g', ARGV[6], 'r', ARGV[7])
end
local nroots = tonumber(ARGV[11])
if n == 0 then
  if gid then
    local next = tonumber(redis.call('HGET', KEYS[2], producer) or '0') + 1
    for r = 1, nroots do
      local root = ARGV[11 + r]
      if redis.call('HSETNX', KEYS[4], producer .. ' ' .. root, gid .. ' ' .. next) == 1 then
        redis.call('XADD', KEYS[5], 'MAXLEN', '~', 10000, '*', 'p', producer, 'r', root, 'id', gid, 's', next)
      end
    end
  end
  return {0, 'empty'}
end
local seq0 = redis.call('HINCRBY', KEYS[2], producer, n) - n + 1
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'p', producer, 's', seq0, 'n', n, 'd', ARGV[8])
-- a new (producer, root) pair is registered at the gap marker when this call wrote one, so a
-- subscriber that learns of the producer here reads the marker too
local rid = gid or id
local maxage = tonumber(ARGV[5])
if maxage > 0 then
  local t = redis.call('TIME')
  local minms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - maxage
  redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%d', minms))
end
local o = 11 + nroots
for r = 1, nroots do
  local root = ARGV[11 + r]
  if redis.call('HSETNX', KEYS[4], producer .. ' ' .. root, rid .. ' ' .. seq0) == 1 then
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', 10000, '*', 'p', producer, 'r', root, 'id', rid, 's', seq0)
  end
  local c = tonumber(ARGV[o + 1])
  o = o + 1
  while c > 0 do
    local k = c
    if k > 500 then k = 500 end
    redis.call('HSET', KEYS[5 + r], unpack(ARGV, o + 1, o + 2 * k))
    o = o + 2 * k
    c = c - k
  end
end
return {seq0, id}
`;

/**
 * SNAPSHOT: a consistent cut of the bus for a subscriber.
 * KEYS: [reg, regs, seq, stream 1…S, cur 1…C]; ARGV: [S, C, producer 1…S]
 * Returns [regsLastId, HGETALL reg, [lastId per stream ("0-0" when missing)],
 *          [last seq per producer ("0" when none)], [HGETALL cur 1, …, HGETALL cur C],
 *          [exists per stream (1/0)]].
 */
export const SNAPSHOT_LUA = `
local function lastId(key)
  local e = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if e[1] then return e[1][1] end
  return '0-0'
end
local S = tonumber(ARGV[1])
local C = tonumber(ARGV[2])
local ids, seqs, exists, curs = {}, {}, {}, {}
for i = 1, S do
  ids[i] = lastId(KEYS[3 + i])
  exists[i] = redis.call('EXISTS', KEYS[3 + i])
  seqs[i] = redis.call('HGET', KEYS[3], ARGV[2 + i]) or '0'
end
for i = 1, C do curs[i] = redis.call('HGETALL', KEYS[3 + S + i]) end
return {lastId(KEYS[2]), redis.call('HGETALL', KEYS[1]), ids, seqs, curs, exists}
`;

/**
 * WRITE request: makes sure the owner's consumer group exists (from id 0, so requests sent
 * before the owner ever ran are delivered), then appends the request.
 * KEYS: [writeStream]; ARGV: [group, maxlen, id, path, valueJson, origin, deadlineMs, replyKey]
 * Returns the entry id.
 */
export const WRITE_LUA = `
pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*',
  'id', ARGV[3], 'path', ARGV[4], 'v', ARGV[5], 'o', ARGV[6], 'dl', ARGV[7], 'rk', ARGV[8],
  'a', ARGV[9])
`;

/**
 * RESTORE: republishes a producer's last current values after Redis lost data
 * (docs/tagbus.md "Republish after lost data"). Like PUBLISH, but a sample is kept only when
 * its path has no current value, or one with an older `ts` (source timestamp, ms): a value
 * another producer published since (e.g. a restarted app superseding the supervisor's
 * `app_exited` samples) is never overwritten by a restored older one. Only kept samples
 * enter the stream and the current values, so subscribers never see an older value after a
 * newer one.
 * KEYS: [stream, seq, pub, reg, regs, cur(root 1), …, cur(root R)]
 * ARGV: [producer, instance, counter, maxlen, maxAgeMs, n, R, root 1…R,
 *        then n quintuples (rootIndex 1-based, path, curPrefix, ts, entry)]
 * Returns [firstSeq, entryId, kept] or [0, "dup"|"none", 0].
 */
export const RESTORE_LUA = `
local producer = ARGV[1]
local inst = ARGV[2]
local ctr = tonumber(ARGV[3])
local last = redis.call('HGET', KEYS[3], producer)
if last then
  local li, lc = string.match(last, '^(.*):(%d+)$')
  if li == inst and tonumber(lc) >= ctr then return {0, 'dup', 0} end
end
redis.call('HSET', KEYS[3], producer, inst .. ':' .. ARGV[3])
local n = tonumber(ARGV[6])
local nroots = tonumber(ARGV[7])
local base = 7 + nroots
local kept = {}
for i = 0, n - 1 do
  local o = base + i * 5
  local ri = tonumber(ARGV[o + 1])
  local cur = redis.call('HGET', KEYS[5 + ri], ARGV[o + 2])
  local keep = true
  if cur then
    local ok, a = pcall(cjson.decode, cur)
    if ok and type(a) == 'table' and tonumber(a[4]) and tonumber(a[4]) >= tonumber(ARGV[o + 4]) then
      keep = false
    end
  end
  if keep then kept[#kept + 1] = o end
end
local k = #kept
if k == 0 then return {0, 'none', 0} end
local d = {}
for j = 1, k do d[j] = ARGV[kept[j] + 5] end
local seq0 = redis.call('HINCRBY', KEYS[2], producer, k) - k + 1
local maxlen = ARGV[4]
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, '*', 'p', producer, 's', seq0, 'n', k, 'd', '[' .. table.concat(d, ',') .. ']')
local maxage = tonumber(ARGV[5])
if maxage > 0 then
  local t = redis.call('TIME')
  local minms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - maxage
  redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%d', minms))
end
local seen = {}
for j = 1, k do
  local o = kept[j]
  local ri = tonumber(ARGV[o + 1])
  if not seen[ri] then
    seen[ri] = true
    local root = ARGV[7 + ri]
    if redis.call('HSETNX', KEYS[4], producer .. ' ' .. root, id .. ' ' .. seq0) == 1 then
      redis.call('XADD', KEYS[5], 'MAXLEN', '~', 10000, '*', 'p', producer, 'r', root, 'id', id, 's', seq0)
    end
  end
  redis.call('HSET', KEYS[5 + ri], ARGV[o + 2], ARGV[o + 3] .. (seq0 + j - 1) .. ']')
end
return {seq0, id, k}
`;

/**
 * WRITE_CLAIM: the first claim of a write request wins, atomically. The owner claims `taken`
 * just before it handles a request; a writer that got no answer claims `withdrawn`. Whoever
 * comes second learns the first claim: an owner that finds `withdrawn` does not handle the
 * request (the writer was told nothing was sent); a writer that finds `taken` reports the
 * outcome as unknown (the owner may have written to the device).
 * KEYS: [claimKey]; ARGV: [claim, ttlSeconds]. Returns the claim that holds.
 */
export const WRITE_CLAIM_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]
`;
