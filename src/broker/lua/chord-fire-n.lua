--[[
  chord-fire: send what a completed chord sets off (its body's messages, or its errbacks when a
  member failed), once.

  KEYS[1]   the chord's fired flag (celeriac:chord:<group>:fired)
  KEYS[2]   the delayed set (for messages with a due time in the future)
  KEYS[3..] one key per message: its queue key, or the delayed set's
  ARGV[1]   time to live of the flag, in ms
  ARGV[2]   the delayed set's wake-up channel
  ARGV[3..] per message, two values: its due time in ms ('' for now), its raw envelope

  Returns 1 if this call fired the chord, 0 if another one already had.

  Guarantee: the flag and the sends are one step, so the chord's follow-ups are sent exactly once
  even when two workers finish the last members at the same instant, or a worker dies after the
  last join and a redelivered member joins again.
]]
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
for i = 3, #KEYS do
  local due = ARGV[(i - 3) * 2 + 3]
  local raw = ARGV[(i - 3) * 2 + 4]
  if due ~= '' then
    redis.call('ZADD', KEYS[2], due, raw)
    redis.call('PUBLISH', ARGV[2], due)
  else
    redis.call('LPUSH', KEYS[i], raw)
  end
end
return 1
