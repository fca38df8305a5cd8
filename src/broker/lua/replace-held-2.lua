--[[
  replace-held: swap a message a consumer holds for a rewritten copy of it (the worker corrects
  delivery_info of a message Celery routed through a named exchange, so every later re-queue
  puts it back on the queue it came from).

  KEYS[1]   the consumer's processing list (celeriac:processing:<name>; blocking fetches)
  KEYS[2]   the consumer's held hash (celeriac:held:<name>)
  ARGV[1]   the message as held now
  ARGV[2]   the rewritten message
  ARGV[3]   its handle in the held hash, or '' when the consumer knows none

  Returns the handle it is held under now ('' in the processing list), or -1 if the consumer does
  not hold ARGV[1] (mapped to MessageNotHeldError).

  Guarantee: the copy goes in only if the original came out, in one step. Pushing it regardless
  (as LREM then LPUSH in a MULTI did) would leave a message the consumer never fetched in its
  list, to be run a second time once it was given back.
]]
local old, new, handle = ARGV[1], ARGV[2], ARGV[3]
if handle == '' then handle = string.match(old, '^.*"delivery_tag"%s*:%s*"([^"]+)"') or '' end
if handle ~= '' and redis.call('HGET', KEYS[2], handle) == old then
  redis.call('HSET', KEYS[2], handle, new)
  return handle
end
if redis.call('LREM', KEYS[1], -1, old) > 0 then
  redis.call('LPUSH', KEYS[1], new)
  return ''
end
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if all[i + 1] == old then
    redis.call('HSET', KEYS[2], all[i], new)
    return all[i]
  end
end
return -1
