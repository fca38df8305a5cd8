--[[
  reply: deliver a remote-control reply as kombu's direct exchange does (virtual DirectExchange
  .deliver over the Redis `_kombu.binding.<exchange>` table): to every queue bound with this exact
  routing key. No queue bound means nobody is waiting (the client gave up and unbound): the reply
  is dropped, as kombu drops it.

  KEYS[1]   the exchange's binding set, e.g. <prefix>_kombu.binding.reply.celery.pidbox
  ARGV[1]   the routing key (the client's oid)
  ARGV[2]   the reply envelope
  ARGV[3]   the key prefix
  ARGV[4]   kombu's separator (\x06\x16)
  ARGV[5]   ms a delivered reply list may live unread

  Returns how many queues got the reply.

  Guarantee: lookup and push happen in one step, so a client that unbinds and deletes its queue
  never finds it re-created afterwards by a late reply (with SMEMBERS then LPUSH, as kombu does it,
  that leaves a list behind for good); the expiry bounds what a client that died while waiting leaves.
]]
local delivered = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local first = string.find(member, ARGV[4], 1, true)
  if first then
    local rkey = string.sub(member, 1, first - 1)
    local second = string.find(member, ARGV[4], first + #ARGV[4], true)
    if rkey == ARGV[1] and second then
      local queue = ARGV[3] .. string.sub(member, second + #ARGV[4])
      redis.call('LPUSH', queue, ARGV[2])
      redis.call('PEXPIRE', queue, tonumber(ARGV[5]))
      delivered = delivered + 1
    end
  end
end
return delivered
