--[[
  send-once: push one beat batch's messages to their queues, once.

  KEYS[1]      the batch's sent marker (<prefix>celeriac:beat:sent:<batch id>)
  KEYS[2..n+1] the queue key of each message (kombu layout: queue, or queue\x06\x16<bucket>)
  ARGV[1]      time to live of the marker, in ms
  ARGV[2..n+1] the raw messages, in the same order as their queue keys

  Returns the number of messages pushed (at least 1), or 0 if the marker already existed and
  nothing was pushed.

  Guarantee: the marker and the pushes are one step. A batch re-sent after its beat died
  (between the send and the outbox delete, see src/beat/sql/claimDueRuns.ts) under the same
  marker pushes nothing, so each of its runs reaches the queue once. The marker outlives any
  re-send that can happen while a beat runs (the outbox lease); a batch older than the marker is
  given up, not re-sent (src/beat/beat.ts, recoverOutbox).
]]
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return 0
end
for i = 2, #KEYS do
  redis.call('LPUSH', KEYS[i], ARGV[i])
end
return #KEYS - 1
