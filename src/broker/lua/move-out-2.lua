--[[
  move-out: take one exact element out of a list and, when it was there, push a message onto a
  queue (re-queueing a dead letter; an empty ARGV[2] only deletes it).

  KEYS[1]   the list to take from (celeriac:dead)
  KEYS[2]   the queue's list to push onto (ignored when ARGV[2] is empty)
  ARGV[1]   the exact element
  ARGV[2]   the message to push, or ''

  Returns 1 if the element was taken, 0 if it was not there.

  Guarantee: the push happens only if the element came out, in one step, so two admins
  re-queueing the same dead letter at once send it once.
]]
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then
  return 0
end
if ARGV[2] ~= '' then
  redis.call('LPUSH', KEYS[2], ARGV[2])
end
return 1
