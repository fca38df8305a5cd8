"""W5, Celery: `python3 chord.py <n>` sends `chord(group([noop.s() for …]), collect.s())`.

The header is a list, not a generator: Celery 5.2 sends only 2 members of a chord whose group
was built from a generator (celery/celery#7285, fixed in 5.3; the chord then never completes).

With a database result backend Celery has no native chord join: apply_chord saves the group and
sends `celery.chord_unlock`, a task that polls the group's results every second (retrying itself)
and sends the callback once all are ready. That is the documented behaviour, and what we measure.
Prints `BENCH_RESULT {json}` with the send time and the callback's task id.
"""
import json
import sys
import time

from celery import chord, group

from benchapp import app, collect, noop


def main():
    n = int(sys.argv[1])
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)
    t0 = time.perf_counter()
    r = chord(group([noop.s() for _ in range(n)]), collect.s())()
    out = {'n': n, 'ms': (time.perf_counter() - t0) * 1000, 'callbackId': r.id}
    print('BENCH_RESULT ' + json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
