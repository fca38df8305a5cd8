"""Send tasks from real Celery 5.2 with a serializer and compression, for the interop tests.

Usage: /usr/bin/python3 send_tasks.py '{"send": [{"name": ..., "args": [...], "kwargs": {...},
        "queue": "q", "serializer": "msgpack", "compression": "zlib"}, ...]}'
    -> prints {"sent": [{"id": "<task id>"}, ...]}
"""
import json
import sys

from celery_app import app


def main():
    request = json.loads(sys.argv[1])
    sent = []
    with app.producer_or_acquire() as producer:
        for spec in request['send']:
            options = {k: spec[k] for k in ('queue', 'serializer', 'compression') if k in spec}
            result = app.send_task(spec['name'], args=spec.get('args', []), kwargs=spec.get('kwargs', {}),
                                   producer=producer, **options)
            sent.append({'id': result.id})
    print(json.dumps({'sent': sent}))


if __name__ == '__main__':
    main()
