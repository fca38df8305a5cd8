"""Send tasks (or a revoke) from real Celery 5.2, for the interop tests.

Usage: /usr/bin/python3 send_tasks.py '<json>'   (same environment as celery_app.py)

  {"send": [{"name": "interop.add", "args": [2, 3], "kwargs": {"c": 4}, "queue": "q",
             "priority": 5, "countdown": 1, "expires_ago_s": 60,
             "exchange": "media", "exchange_type": "topic", "routing_key": "video.compress"}, ...]}
      -> prints {"sent": [{"id": "<task id>", "sent_before_ms": <ms just before send_task>}, ...]}

  {"revoke": ["<task id>", ...]}
      -> app.control.revoke(ids): a pidbox broadcast, no reply expected; prints {"revoked": [...]}

  {"canvas": <node>}  where <node> is {"task": name, "args": [...], "queue": q}, {"chain": [<node>...]},
                      {"group": [<node>...]} or {"chord": [<node>...], "body": <node>}
      -> builds it with celery.canvas and calls apply_async(); prints {"id": <result id>,
         "ids": [<member ids> for a GroupResult], "parents": [<ids along .parent>]}
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


def main():
    request = json.loads(sys.argv[1])
    if 'send' in request:
        out = send(request['send'])
    elif 'canvas' in request:
        out = send_canvas(request['canvas'])
    elif 'revoke' in request:
        app.control.revoke(request['revoke'])
        out = {'revoked': request['revoke']}
    else:
        raise SystemExit('expected {"send": [...]}, {"canvas": {...}} or {"revoke": [...]}')
    print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
