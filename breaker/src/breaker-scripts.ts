import { RedisScript, type RedisScriptFlag } from './redis-script';

/*
 * Every change to a breaker's shared state is one of these scripts. A script
 * runs atomically in Redis, reads the clock with TIME (so no replica's clock
 * matters), and announces what it changed on the breaker's channel before
 * it returns. No decision is ever taken by a replica on a value it read in
 * an earlier round trip.
 *
 * KEYS (all scripts): 1 state hash, 2 window hash, 3 probe lease, 4 quorum voters
 * ARGV[1] (all scripts): the pub/sub channel
 * Every script answers a JSON ScriptReply.
 */

const PRELUDE = `
local STATE, WINDOW, PROBE, VOTERS = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local CHANNEL = ARGV[1]
local NUMBERS = {'epoch', 'version', 'writtenAt', 'incarnation', 'failures', 'calls', 'openedAt', 'halfOpenAt', 'openCount', 'changedAt', 'decidedBucket', 'isolatedUntil'}

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function load()
  local s = {state = 'closed'}
  for _, f in ipairs(NUMBERS) do s[f] = 0 end
  local raw = redis.call('HGETALL', STATE)
  for i = 1, #raw, 2 do
    local field = raw[i]
    if field == 'state' or field == 'changeReason' or field == 'changeNote' then
      s[field] = raw[i + 1]
    else
      s[field] = tonumber(raw[i + 1])
    end
  end
  return s
end

-- The state as replicas see it: the hash, plus who holds the probe lease and until when.
local function view(s, now)
  local out = {state = s.state, probeLeaseUntil = 0, probeOwner = ''}
  for _, f in ipairs(NUMBERS) do out[f] = s[f] end
  -- Microseconds need 16 digits; cjson keeps 14, so the write time travels as a string.
  out.writtenAt = string.format('%.0f', s.writtenAt)
  if s.state == 'half_open' then
    local ttl = redis.call('PTTL', PROBE)
    -- 0: the lease expires this very millisecond, and still stands until it has passed.
    if ttl >= 0 then
      out.probeLeaseUntil = now + ttl
      out.probeOwner = redis.call('GET', PROBE)
    end
  end
  return out
end

-- Every reply says why the state last changed (and the operator's words, if any), so a replica
-- that learns of a change from a reply before the message still knows its reason.
local function reply(s, now, extra)
  local out = extra or {}
  if out.reason == nil and s.changeReason then
    out.reason = s.changeReason
    if s.changeNote ~= '' then out.note = s.changeNote end
  end
  out.state = view(s, now)
  out.now = now
  return cjson.encode(out)
end

-- Saves a change: a new version and write time always, a new epoch when the state changed
-- (or when newTerm asks for one: an operator's reset of a closed breaker), and a message on
-- the channel unless the change is quiet (window counts). The write time, in microseconds
-- (no script runs in less), orders states even across a return to an older copy, where
-- versions repeat.
local function commit(s, now, from, reason, quiet, newTerm, note)
  if s.incarnation == 0 then s.incarnation = now end
  s.version = s.version + 1
  s.writtenAt = math.max(now_us(), s.writtenAt + 1)
  if from ~= s.state or newTerm then
    s.epoch = s.epoch + 1
    s.changedAt = now
    s.changeReason = reason
    s.changeNote = note or ''
  end
  local fields = {'state', s.state}
  for _, f in ipairs(NUMBERS) do
    fields[#fields + 1] = f
    fields[#fields + 1] = s[f]
  end
  if s.changeReason then
    fields[#fields + 1] = 'changeReason'
    fields[#fields + 1] = s.changeReason
    fields[#fields + 1] = 'changeNote'
    fields[#fields + 1] = s.changeNote
  end
  redis.call('HSET', STATE, unpack(fields))
  local message = {state = view(s, now), now = now, reason = reason}
  if from ~= s.state then message.from = from end
  if note and note ~= '' then message.note = note end
  if not quiet then redis.call('PUBLISH', CHANNEL, cjson.encode(message)) end
  return message
end

local function transition(s, now, from, reason)
  local message = commit(s, now, from, reason)
  return reply(s, now, {from = message.from, reason = message.reason})
end

-- Opens the breaker; each opening since the last close lasts longer, up to the cap.
local function open(s, now, openMs, maxOpenMs, factor)
  s.openCount = s.openCount + 1
  local period = math.min(openMs * factor ^ (s.openCount - 1), maxOpenMs)
  s.state = 'open'
  s.openedAt = now
  s.halfOpenAt = now + math.floor(period)
  s.isolatedUntil = 0
  redis.call('DEL', WINDOW, PROBE, VOTERS)
end

local function close(s)
  s.state = 'closed'
  s.failures = 0
  s.calls = 0
  s.openCount = 0
  s.openedAt = 0
  s.halfOpenAt = 0
  s.isolatedUntil = 0
  redis.call('DEL', WINDOW, PROBE, VOTERS)
end

-- The quorum: notes that \`replica\` tripped on its own outcomes now (when \`tripped\`), forgets
-- replicas whose last trip is older than \`windowMs\`, and answers whether at least \`needed\`
-- distinct replicas are left. \`needed\` of 1 or less is no quorum: always true, nothing stored.
local function quorate(now, replica, tripped, needed, windowMs)
  if needed <= 1 then return true end
  if tripped then redis.call('ZADD', VOTERS, now, replica) end
  redis.call('ZREMRANGEBYSCORE', VOTERS, '-inf', '(' .. (now - windowMs))
  if redis.call('EXISTS', VOTERS) == 0 then return false end
  redis.call('PEXPIRE', VOTERS, windowMs)
  return redis.call('ZCARD', VOTERS) >= needed
end

-- Outcomes belong to the term (incarnation, epoch) in which their calls started. A call
-- started before the hash existed (incarnation 0) counts in the incarnation it grew into;
-- one from an incarnation Redis no longer holds never counts.
local function same_term(s, incarnation, epoch)
  return s.state == 'closed' and s.epoch == epoch and (incarnation == 0 or incarnation == s.incarnation)
end

-- Splits 'a,b,c' into a list.
local function split(text, separator)
  local out = {}
  for part in string.gmatch(text, '[^' .. separator .. ']+') do out[#out + 1] = part end
  return out
end
`;

/*
 * A breaker's writes are bounded (one state hash, a window of a few buckets, one lease, one
 * voter per replica), so they may go on when Redis is at its memory limit: a full Redis refuses
 * new records, never the breaker's decisions.
 */
const script = (body: string, flags: RedisScriptFlag[] = ['allow-oom']) =>
  new RedisScript<string>(`${PRELUDE}\n${body}`, 4, flags);

/** Reads the state without changing it. ARGV: channel. */
export const READ = script(
  `
local now = now_ms()
return reply(load(), now)
`,
  ['no-writes'],
);

/**
 * Consecutive mode: records one replica's outcomes, in the order they
 * happened, as runs (`f3,s1,f2`: three failures, a success, two failures).
 * A failure adds to the cluster's count of consecutive failures and opens
 * the breaker at the threshold; a success resets the count. Outcomes from
 * another term are ignored: they describe a breaker that no longer exists.
 * With a quorum above 1, the threshold opens only once that many distinct
 * replicas tripped on their own outcomes within the quorum window (a write
 * says whether its replica did); until then the count goes on, and opens
 * with the next failure once the quorum is there.
 * ARGV: channel, incarnation, epoch, runs, threshold, openMs, maxOpenMs, backoffFactor,
 *       replica, quorum, quorumWindowMs, tripped (1|0)
 */
export const RECORD_CONSECUTIVE = script(`
local now = now_ms()
local s = load()
if not same_term(s, tonumber(ARGV[2]), tonumber(ARGV[3])) then return reply(s, now, {stale = true}) end
local threshold = tonumber(ARGV[5])
local before = s.failures
local quorum = quorate(now, ARGV[9], ARGV[12] == '1', tonumber(ARGV[10]), tonumber(ARGV[11]))
for _, run in ipairs(split(ARGV[4], ',')) do
  local n = tonumber(string.sub(run, 2))
  if string.sub(run, 1, 1) == 's' then
    s.failures = 0
  else
    s.failures = s.failures + n
    if s.failures >= threshold and quorum then
      open(s, now, tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
      return transition(s, now, 'closed', 'failure threshold reached')
    end
  end
end
if s.failures == before then return reply(s, now) end
-- Counts are announced: replicas write a success only while they know of a count to reset.
commit(s, now, 'closed', 'outcomes recorded')
return reply(s, now)
`);

/**
 * Rate mode: adds one replica's outcomes to the sliding window, each in the
 * bucket of the Redis time at which its call ended, then decides every
 * bucket that has settled. A bucket settles \`settleMs\` after it ends, when
 * every replica has had time to report it; its decision looks at the window
 * of \`bucketsInWindow\` buckets ending with it, and opens the breaker when
 * that window holds at least \`minCalls\` calls of which at least
 * \`thresholdPpm\` millionths failed (integers: no rounding decides). The
 * reply's \`decideAt\` is when the next bucket settles while the window
 * holds outcomes, so a replica can ask again without waiting for traffic.
 * With a quorum above 1, a window that meets the rate opens only once that
 * many distinct replicas tripped on their own outcomes within the quorum
 * window.
 * ARGV: channel, incarnation, epoch, buckets (\`bucket:successes:failures,…\`),
 *       thresholdPpm, minCalls, bucketMs, bucketsInWindow, settleMs,
 *       openMs, maxOpenMs, backoffFactor, replica, quorum, quorumWindowMs, tripped (1|0)
 */
export const RECORD_RATE = script(`
local now = now_ms()
local s = load()
if not same_term(s, tonumber(ARGV[2]), tonumber(ARGV[3])) then return reply(s, now, {stale = true}) end
local ppm, minCalls = tonumber(ARGV[5]), tonumber(ARGV[6])
local bucketMs, width, settleMs = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])

-- The last bucket whose window may be decided now, and the first that still matters.
local lastSettled = math.floor((now - settleMs) / bucketMs) - 1
-- Redis's clock went back (a failover to a node whose clock is behind): decide from here.
if s.decidedBucket > lastSettled then s.decidedBucket = lastSettled end
local first = math.max(s.decidedBucket + 1, lastSettled - width + 1)
local oldestUseful = first - width + 1

for _, entry in ipairs(split(ARGV[4], ',')) do
  local parts = split(entry, ':')
  local bucket, successes, failures = tonumber(parts[1]), tonumber(parts[2]), tonumber(parts[3])
  if bucket >= oldestUseful then
    if successes > 0 then redis.call('HINCRBY', WINDOW, 's' .. bucket, successes) end
    if failures > 0 then redis.call('HINCRBY', WINDOW, 'f' .. bucket, failures) end
  end
end

local quorum = quorate(now, ARGV[13], ARGV[16] == '1', tonumber(ARGV[14]), tonumber(ARGV[15]))

local successes, failures = {}, {}
local raw = redis.call('HGETALL', WINDOW)
for i = 1, #raw, 2 do
  local bucket = tonumber(string.sub(raw[i], 2))
  if bucket < oldestUseful then
    redis.call('HDEL', WINDOW, raw[i])
  elseif string.sub(raw[i], 1, 1) == 's' then
    successes[bucket] = tonumber(raw[i + 1])
  else
    failures[bucket] = tonumber(raw[i + 1])
  end
end

local before_calls, before_failures, before_decided = s.calls, s.failures, s.decidedBucket
for bucket = first, lastSettled do
  local calls, failed = 0, 0
  for b = bucket - width + 1, bucket do
    calls = calls + (successes[b] or 0) + (failures[b] or 0)
    failed = failed + (failures[b] or 0)
  end
  s.calls, s.failures, s.decidedBucket = calls, failed, bucket
  if calls >= minCalls and failed * 1000000 >= ppm * calls and quorum then
    open(s, now, tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]))
    return transition(s, now, 'closed', 'failure rate reached')
  end
end

-- While the window holds outcomes, every bucket to come may change the decision.
local decideAt = 0
if redis.call('EXISTS', WINDOW) == 1 then
  redis.call('PEXPIRE', WINDOW, (width + 2) * bucketMs + settleMs)
  decideAt = (math.max(s.decidedBucket, lastSettled) + 2) * bucketMs + settleMs
end
if s.calls ~= before_calls or s.failures ~= before_failures or s.decidedBucket ~= before_decided then
  -- Window counts change on every flush of every replica: saved, not announced.
  commit(s, now, 'closed', 'window decided', true)
end
return reply(s, now, {decideAt = decideAt})
`);

/**
 * Asks for the half-open probe. Granted to exactly one caller once the open
 * period is over, or when the lease was given back or expired without a
 * report. ARGV: channel, token, leaseMs
 */
export const ACQUIRE_PROBE = script(`
local now = now_ms()
local s = load()
local from = s.state
if s.state == 'open' and now >= s.halfOpenAt then
  s.state = 'half_open'
elseif not (s.state == 'half_open' and redis.call('EXISTS', PROBE) == 0) then
  return reply(s, now, {granted = false})
end
redis.call('SET', PROBE, ARGV[2], 'PX', ARGV[3])
local message = commit(s, now, from, from == 'half_open' and 'probe lease free; new probe' or 'open period over')
return reply(s, now, {granted = true, from = message.from, reason = message.reason})
`);

/**
 * Reports the probe's outcome; only the lease holder's report counts.
 * `success` closes the breaker, `failure` reopens it for a longer period,
 * `abandon` gives the lease back without a verdict (the caller gave up
 * before the call ran, or cancelled it) so the next caller probes.
 * ARGV: channel, token, outcome (success|failure|abandon), openMs, maxOpenMs, backoffFactor
 */
export const RELEASE_PROBE = script(`
local now = now_ms()
local s = load()
if s.state ~= 'half_open' or redis.call('GET', PROBE) ~= ARGV[2] then
  return reply(s, now, {stale = true})
end
if ARGV[3] == 'abandon' then
  redis.call('DEL', PROBE)
  local message = commit(s, now, 'half_open', 'probe abandoned')
  return reply(s, now, {reason = message.reason})
end
if ARGV[3] == 'success' then
  close(s)
else
  open(s, now, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
end
return transition(s, now, 'half_open', 'probe ' .. ARGV[3])
`);

/**
 * An operator's decision for the whole cluster: hold the breaker open
 * (isolated), or reset it to closed with every count cleared and a new
 * term, so outcomes of calls started before the reset never count. The
 * operator's words (may be empty) travel as the message's note. An
 * isolation may be given a duration: it ends by itself at \`isolatedUntil\`
 * (Redis time; 0 is until a reset). Isolating an isolated breaker again
 * replaces its words and its end.
 * ARGV: channel, target (isolated|closed), note, forMs (0: until reset)
 */
export const FORCE = script(`
local now = now_ms()
local s = load()
local from = s.state
local reason = 'reset by an operator'
if ARGV[2] == 'isolated' then
  s.state = 'isolated'
  local forMs = tonumber(ARGV[4]) or 0
  s.isolatedUntil = 0
  if forMs > 0 then s.isolatedUntil = now + forMs end
  reason = 'isolated by an operator'
  redis.call('DEL', PROBE)
else
  close(s)
end
local message = commit(s, now, from, reason, false, true, ARGV[3])
return reply(s, now, {from = message.from, reason = message.reason, note = message.note})
`);

/**
 * Ends an isolation whose time is up, on Redis's clock: the breaker closes,
 * every count cleared, in a new term, as a reset does. Any replica may ask
 * (each does when its view says the time is up); only the first changes
 * anything. ARGV: channel
 */
export const END_ISOLATION = script(`
local now = now_ms()
local s = load()
if s.state ~= 'isolated' or s.isolatedUntil == 0 or now < s.isolatedUntil then return reply(s, now) end
close(s)
local message = commit(s, now, 'isolated', 'isolation expired', false, true)
return reply(s, now, {from = message.from, reason = message.reason})
`);

/** Every script, for loading them when a connection opens. */
export const ALL_SCRIPTS = [
  READ,
  RECORD_CONSECUTIVE,
  RECORD_RATE,
  ACQUIRE_PROBE,
  RELEASE_PROBE,
  FORCE,
  END_ISOLATION,
];
