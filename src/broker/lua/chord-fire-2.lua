--[[
  chord-fire: send a chord's callback, once.

  KEYS[1]   the chord's fired flag (celeriac:chord:<group>:fired)
  KEYS[2]   the callback's queue key ('' when there is no message: the chord failed)
  ARGV[1]   the callback message ('' when none)
  ARGV[2]   time to live of the flag, in ms

  Returns 1 if this call fired the chord, 0 if another one already had.

  Guarantee: the flag and the send are one step, so the callback is sent exactly once even when
  two workers finish the last members at the same instant, or a worker dies after the last join
  and a redelivered member joins again.
]]
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[2]) then
  if ARGV[1] ~= '' then redis.call('LPUSH', KEYS[2], ARGV[1]) end
  return 1
end
return 0
