--[[
  chord-join: record that one member of a chord has finished.

  KEYS[1]   the chord's finished-members set (celeriac:chord:<group>:done)
  KEYS[2]   the chord's failed-members set (celeriac:chord:<group>:failed)
  ARGV[1]   the member's task id
  ARGV[2]   '1' if the member failed or was revoked, else '0'
  ARGV[3]   time to live of both sets, in ms

  Returns { finished members, failed members }.

  Guarantee: a member counts once however often it is redelivered and re-run (a set, not a
  counter), so the count reaches the chord's size exactly when every member has finished,
  whichever workers ran them and in whatever order.
]]
redis.call('SADD', KEYS[1], ARGV[1])
if ARGV[2] == '1' then redis.call('SADD', KEYS[2], ARGV[1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return { redis.call('SCARD', KEYS[1]), redis.call('SCARD', KEYS[2]) }
