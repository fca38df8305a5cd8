"""Send tasks (or a revoke) from real Celery 5.2, for the interop tests.

Usage: /usr/bin/python3 send_tasks.py '<json>'   (same environment as celery_app.py)

  {"send": [{"name": "interop.add", "args": [2, 3], "kwargs": {"c": 4}, "queue": "q",
             "priority": 5, "countdown": 1, "expires_ago_s": 60,
             "exchange": "media", "exchange_type": "topic", "routing_key": "video.compress"}, ...]}
      -> prints {"sent": [{"id": "<task id>", "sent_before_ms": <ms just before send_task>}, ...]}

  {"revoke": ["<task id>", ...]}
      -> app.control.revoke(ids): a pidbox broadcast, no reply expected; prints {"revoked": [...]}
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


def main():
    request = json.loads(sys.argv[1])
    if 'send' in request:
        out = send(request['send'])
    elif 'revoke' in request:
        app.control.revoke(request['revoke'])
        out = {'revoked': request['revoke']}
    else:
        raise SystemExit('expected {"send": [...]} or {"revoke": [...]}')
    print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
