import { RedisScript } from '../redis-script';
import type { ScriptReply } from './breaker-state';

/*
 * Every change to a breaker's shared state is one of these scripts. A script
 * runs atomically in Redis, reads the clock with TIME (so no replica's clock
 * matters), and announces what it changed on the breaker's channel before
 * it returns. No decision is ever taken by a replica on a value it read in
 * an earlier round trip.
 *
 * KEYS (all scripts): 1 state hash, 2 window hash, 3 probe lease
 * ARGV[1] (all scripts): the pub/sub channel
 * Every script answers a JSON ScriptReply.
 */

const PRELUDE = `
local STATE, WINDOW, PROBE = KEYS[1], KEYS[2], KEYS[3]
local CHANNEL = ARGV[1]
local NUMBERS = {'epoch', 'version', 'incarnation', 'failures', 'calls', 'openedAt', 'halfOpenAt', 'openCount', 'changedAt'}

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function load()
  local s = {state = 'closed'}
  for _, f in ipairs(NUMBERS) do s[f] = 0 end
  local raw = redis.call('HGETALL', STATE)
  for i = 1, #raw, 2 do
    if raw[i] == 'state' then s.state = raw[i + 1] else s[raw[i]] = tonumber(raw[i + 1]) end
  end
  return s
end

local function view(s, now)
  local out = {state = s.state, probeLeaseUntil = 0}
  for _, f in ipairs(NUMBERS) do out[f] = s[f] end
  if s.state == 'half_open' then
    local ttl = redis.call('PTTL', PROBE)
    if ttl > 0 then out.probeLeaseUntil = now + ttl end
  end
  return out
end

local function reply(s, now, extra)
  local out = extra or {}
  out.state = view(s, now)
  out.now = now
  return cjson.encode(out)
end

-- Saves a change: a new version always, a new epoch when the state changed,
-- and a message on the channel unless the change is quiet (window counts).
local function commit(s, now, from, reason, quiet)
  if s.incarnation == 0 then s.incarnation = now end
  s.version = s.version + 1
  if from ~= s.state then
    s.epoch = s.epoch + 1
    s.changedAt = now
  end
  local fields = {'state', s.state}
  for _, f in ipairs(NUMBERS) do
    fields[#fields + 1] = f
    fields[#fields + 1] = s[f]
  end
  redis.call('HSET', STATE, unpack(fields))
  local message = {state = view(s, now), now = now, reason = reason}
  if from ~= s.state then message.from = from end
  if not quiet then redis.call('PUBLISH', CHANNEL, cjson.encode(message)) end
  return message
end

-- Opens the breaker; each opening since the last close lasts longer, up to the cap.
local function open(s, now, openMs, maxOpenMs, factor)
  s.openCount = s.openCount + 1
  local period = math.min(openMs * factor ^ (s.openCount - 1), maxOpenMs)
  s.state = 'open'
  s.openedAt = now
  s.halfOpenAt = now + math.floor(period)
  redis.call('DEL', WINDOW, PROBE)
end

local function close(s)
  s.state = 'closed'
  s.failures = 0
  s.calls = 0
  s.openCount = 0
  s.openedAt = 0
  s.halfOpenAt = 0
  redis.call('DEL', WINDOW, PROBE)
end
`;

const script = (body: string) => new RedisScript<string>(`${PRELUDE}\n${body}`, 3);

/** Reads the state without changing it. ARGV: channel. */
export const READ = script(`
local now = now_ms()
return reply(load(), now)
`);

/**
 * Records call outcomes observed by one replica while closed, and opens the
 * breaker when they cross the threshold. Outcomes from another epoch (before
 * a transition) are ignored: they describe a breaker that no longer exists.
 * ARGV: channel, epoch, successes, failures, mode, threshold, minCalls,
 *       windowMs, bucketMs, openMs, maxOpenMs, backoffFactor
 */
export const RECORD = script(`
local now = now_ms()
local s = load()
local epoch, successes, failures = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local mode, threshold = ARGV[5], tonumber(ARGV[6])
if s.state ~= 'closed' or s.epoch ~= epoch then return reply(s, now, {stale = true}) end

local before_failures, before_calls = s.failures, s.calls
local trip = false
if mode == 'consecutive' then
  if failures > 0 then
    s.failures = s.failures + failures
    trip = s.failures >= threshold
  elseif successes > 0 then
    s.failures = 0
  end
else
  local minCalls, windowMs, bucketMs = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
  local bucket = math.floor(now / bucketMs)
  local oldest = bucket - math.ceil(windowMs / bucketMs) + 1
  if successes > 0 then redis.call('HINCRBY', WINDOW, 's' .. bucket, successes) end
  if failures > 0 then redis.call('HINCRBY', WINDOW, 'f' .. bucket, failures) end
  redis.call('PEXPIRE', WINDOW, windowMs + bucketMs)
  local raw = redis.call('HGETALL', WINDOW)
  local calls, failed = 0, 0
  for i = 1, #raw, 2 do
    local field = raw[i]
    if tonumber(string.sub(field, 2)) < oldest then
      redis.call('HDEL', WINDOW, field)
    else
      local n = tonumber(raw[i + 1])
      calls = calls + n
      if string.sub(field, 1, 1) == 'f' then failed = failed + n end
    end
  end
  s.calls, s.failures = calls, failed
  trip = failed > 0 and calls >= minCalls and failed >= threshold * calls
end

if trip then
  open(s, now, tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]))
  local message = commit(s, now, 'closed', 'failure threshold reached')
  return reply(s, now, {from = message.from, reason = message.reason})
end
if s.failures == before_failures and s.calls == before_calls then return reply(s, now) end
-- Consecutive counts are announced (replicas report a success only while the count is above
-- zero); window counts change on every flush and are only saved.
commit(s, now, 'closed', 'outcomes recorded', mode ~= 'consecutive')
return reply(s, now)
`);

/**
 * Asks for the half-open probe. Granted to exactly one caller once the open
 * period is over, or when the last prober's lease expired without a report.
 * ARGV: channel, token, leaseMs
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
local message = commit(s, now, from, from == 'half_open' and 'probe lease expired; new probe' or 'open period over')
return reply(s, now, {granted = true, from = message.from, reason = message.reason})
`);

/**
 * Reports the probe's outcome: success closes the breaker, failure reopens
 * it for a longer period. Only the lease holder's report counts.
 * ARGV: channel, token, outcome (success|failure), openMs, maxOpenMs, backoffFactor
 */
export const RELEASE_PROBE = script(`
local now = now_ms()
local s = load()
if s.state ~= 'half_open' or redis.call('GET', PROBE) ~= ARGV[2] then
  return reply(s, now, {stale = true})
end
if ARGV[3] == 'success' then
  close(s)
else
  open(s, now, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]))
end
local message = commit(s, now, 'half_open', 'probe ' .. ARGV[3])
return reply(s, now, {from = message.from, reason = message.reason})
`);

/**
 * An operator's decision for the whole cluster: hold the breaker open
 * (isolated) or reset it to closed with every count cleared.
 * ARGV: channel, target (isolated|closed), reason
 */
export const FORCE = script(`
local now = now_ms()
local s = load()
local from = s.state
if ARGV[2] == 'isolated' then
  if s.state == 'isolated' then return reply(s, now) end
  s.state = 'isolated'
  redis.call('DEL', PROBE)
else
  if s.state == 'closed' and s.failures == 0 and s.calls == 0 then return reply(s, now) end
  close(s)
end
local message = commit(s, now, from, ARGV[3])
return reply(s, now, {from = message.from, reason = message.reason})
`);

export type BreakerScript = RedisScript<string>;
export type { ScriptReply };
