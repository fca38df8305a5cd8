"""Celery 5.2 as a client of a RabbitMQ vhost shared with Celeriac: send tasks, inspect or
control workers, or read events with celery.events.EventReceiver. Prints one JSON line per result.

Usage: /usr/bin/python3 amqp_tool.py '<json>'   (environment as celery_amqp_app.py)

  {"send": [{"name", "args", "kwargs", "queue", "priority", "countdown", "eta", "expires_in_s"}]}
      -> {"sent": [{"id": ..., "sent_before_ms": ...}]}
  {"inspect": "ping" | "active" | "scheduled" | "stats" | ..., "destination": [...]?, "timeout": 2}
      -> {"replies": {...}}
  {"control": "rate_limit", "arguments": {...}, "destination": [...]?}
      -> {"replies": [...]}
  {"events": {"limit": N, "timeout": S, "until_uuid_prefix": "<task id prefix>"}}
      (stops once a task-succeeded of a matching task and a worker-heartbeat have arrived)
      -> {"ready": true} once the receiver's queue is bound, then {"events": [...]}
"""
import json
import sys
import time
from datetime import datetime, timedelta, timezone

from celery_amqp_app import app


def out(obj):
    print(json.dumps(obj, default=str), flush=True)


def send(specs):
    sent = []
    with app.producer_or_acquire() as producer:
        for spec in specs:
            options = {k: spec[k] for k in ('queue', 'priority', 'countdown', 'task_id') if k in spec}
            if 'eta' in spec:
                options['eta'] = datetime.fromisoformat(spec['eta'])
            if 'expires_in_s' in spec:
                options['expires'] = datetime.now(timezone.utc) + timedelta(seconds=spec['expires_in_s'])
            before = int(time.time() * 1000)
            result = app.send_task(spec['name'], args=spec.get('args', []), kwargs=spec.get('kwargs', {}),
                                   producer=producer, **options)
            sent.append({'id': result.id, 'sent_before_ms': before})
    return {'sent': sent}


def events(spec):
    seen = []
    until = spec.get('until_uuid_prefix')
    with app.connection_for_read() as conn:
        def on_event(event):
            seen.append(event)
            # Done once a matching task-succeeded and a worker heartbeat have both arrived.
            succeeded = any(str(e.get('uuid', '')).startswith(until) and e.get('type') == 'task-succeeded'
                            for e in seen)
            if until and succeeded and any(e.get('type') == 'worker-heartbeat' for e in seen):
                raise KeyboardInterrupt

        recv = app.events.Receiver(conn, handlers={'*': on_event})
        # Declare and bind the receiver's queue before saying we are ready, so nothing sent after is missed.
        recv.queue(conn.default_channel).declare()
        out({'ready': True})
        try:
            recv.capture(limit=spec.get('limit'), timeout=spec.get('timeout', 10), wakeup=False)
        except (KeyboardInterrupt, TimeoutError, OSError):
            pass
        except Exception as exc:  # socket.timeout on an idle stream ends the capture too
            if 'timed out' not in str(exc):
                raise
    return {'events': seen}


def main():
    request = json.loads(sys.argv[1])
    if 'send' in request:
        out(send(request['send']))
    elif 'inspect' in request:
        insp = app.control.inspect(destination=request.get('destination'), timeout=request.get('timeout', 2))
        out({'replies': getattr(insp, request['inspect'])(*request.get('args', []))})
    elif 'control' in request:
        out({'replies': app.control.broadcast(request['control'], arguments=request.get('arguments', {}),
                                              destination=request.get('destination'), reply=True,
                                              timeout=request.get('timeout', 2))})
    elif 'events' in request:
        out(events(request['events']))
    else:
        raise SystemExit('expected send, inspect, control or events')


if __name__ == '__main__':
    main()
