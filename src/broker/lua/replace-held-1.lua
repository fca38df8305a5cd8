--[[
  replace-held: swap a message a consumer holds for a rewritten copy of it (the worker corrects
  delivery_info of a message Celery routed through a named exchange, so every later re-queue
  puts it back on the queue it came from).

  KEYS[1]   the consumer's processing list (celeriac:processing:<name>)
  ARGV[1]   the message as held now
  ARGV[2]   the rewritten message

  Returns 1, or -1 if the consumer does not hold ARGV[1] (mapped to MessageNotHeldError).

  Guarantee: the copy goes in only if the original came out, in one step. Pushing it regardless
  (as LREM then LPUSH in a MULTI did) would leave a message the consumer never fetched in its
  list, to be run a second time once it was given back.
]]
if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then
  return -1
end
redis.call('LPUSH', KEYS[1], ARGV[2])
return 1
