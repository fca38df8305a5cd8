"""Real Celery 5.2 as a client of the broker it shares with Celeriac (Redis or RabbitMQ): send tasks
or a canvas, revoke, inspect or control workers, or read events with celery.events.EventReceiver.

Usage: /usr/bin/python3 send_tasks.py '<json>'   (same environment as celery_app.py)
Prints one JSON line per result; the last one is the answer.

  {"send": [{"name": "interop.add", "args": [2, 3], "kwargs": {"c": 4}, "queue": "q",
             "priority": 5, "countdown": 1, "eta": "<iso>", "expires_ago_s": 60, "expires_in_s": 1,
             "exchange": "media", "exchange_type": "topic", "routing_key": "video.compress"}, ...]}
      -> {"sent": [{"id": "<task id>", "sent_before_ms": <ms just before send_task>}, ...]}

  {"revoke": ["<task id>", ...]}
      -> app.control.revoke(ids): a pidbox broadcast, no reply expected; {"revoked": [...]}

  {"canvas": <node>}  where <node> is {"task": name, "args": [...], "queue": q}, {"chain": [<node>...]},
                      {"group": [<node>...]} or {"chord": [<node>...], "body": <node>}
      -> builds it with celery.canvas and calls apply_async(); {"id": <result id>,
         "ids": [<member ids> for a GroupResult], "parents": [<ids along .parent>]}

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

from kombu import Exchange, Queue

from celery_app import app


def send(specs):
    sent = []
    with app.producer_or_acquire() as producer:
        for spec in specs:
            options = {}
            for key in ('queue', 'priority', 'countdown', 'task_id'):
                if key in spec:
                    options[key] = spec[key]
            if 'routing_key' in spec:
                # Celery's topic routing ("Routing Tasks" in its guide): the queue is bound to a named
                # exchange under another routing key, and the message is published to that exchange.
                exchange = Exchange(spec['exchange'], type=spec.get('exchange_type', 'topic'))
                options['queue'] = Queue(spec['queue'], exchange, routing_key=spec['routing_key'])
                options['exchange'] = exchange
                options['routing_key'] = spec['routing_key']
            if 'expires_ago_s' in spec:
                options['expires'] = datetime.now(timezone.utc) - timedelta(seconds=spec['expires_ago_s'])
            if 'expires_in_s' in spec:
                options['expires'] = datetime.now(timezone.utc) + timedelta(seconds=spec['expires_in_s'])
            if 'eta' in spec:
                options['eta'] = datetime.fromisoformat(spec['eta'])
            before = int(time.time() * 1000)
            result = app.send_task(spec['name'], args=spec.get('args', []), kwargs=spec.get('kwargs', {}),
                                   producer=producer, **options)
            sent.append({'id': result.id, 'sent_before_ms': before})
    return {'sent': sent}


def build(node):
    from celery import chain, chord, group, signature
    if 'chain' in node:
        return chain(*[build(n) for n in node['chain']])
    if 'group' in node:
        return group([build(n) for n in node['group']])
    if 'chord' in node:
        return chord([build(n) for n in node['chord']], build(node['body']))
    options = {'queue': node['queue']} if 'queue' in node else {}
    return signature(node['task'], args=node.get('args', []), app=app, **options)


def send_canvas(node):
    # Chains holding chords check that the result backend can do chords (prepare_steps); this
    # sender never reads results, so an in-memory backend satisfies the check.
    app.conf.result_backend = 'cache+memory://'
    result = build(node).apply_async()
    parents, p = [], getattr(result, 'parent', None)
    while p is not None:
        parents.append(p.id)
        p = getattr(p, 'parent', None)
    return {'id': result.id, 'ids': [r.id for r in getattr(result, 'results', None) or []], 'parents': parents}


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
        print(json.dumps({'ready': True}), flush=True)
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
        out = send(request['send'])
    elif 'canvas' in request:
        out = send_canvas(request['canvas'])
    elif 'revoke' in request:
        app.control.revoke(request['revoke'])
        out = {'revoked': request['revoke']}
    elif 'inspect' in request:
        insp = app.control.inspect(destination=request.get('destination'), timeout=request.get('timeout', 2))
        out = {'replies': getattr(insp, request['inspect'])(*request.get('args', []))}
    elif 'control' in request:
        out = {'replies': app.control.broadcast(request['control'], arguments=request.get('arguments', {}),
                                                destination=request.get('destination'), reply=True,
                                                timeout=request.get('timeout', 2))}
    elif 'events' in request:
        out = events(request['events'])
    else:
        raise SystemExit('expected send, canvas, revoke, inspect, control or events')
    print(json.dumps(out, default=str), flush=True)


if __name__ == '__main__':
    main()
