"""Celery sender: `python3 sender.py <mode> <n>`; prints `BENCH_RESULT {json}`.

  single   n apply_async calls, one at a time (Celery has no bulk send)
  latency  n round trips: apply_async, then AsyncResult.get(interval=0.005) (default 0.5 s) after <warmups> warm-ups (default 20)
  w4       n bench.sleep tasks of 50 ms
"""
import json
import sys
import time

from benchapp import app, noop, sleep_record


def main():
    mode, n = sys.argv[1], int(sys.argv[2])
    warmups = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)
    out = {'mode': mode, 'n': n}
    t0 = time.perf_counter()
    if mode == 'single':
        for _ in range(n):
            noop.apply_async()
    elif mode == 'w4':
        for j in range(n):
            sleep_record.apply_async(('w4-%05d' % j, 50))
    elif mode == 'latency':
        lat = []
        for i in range(n + warmups):
            s = time.perf_counter()
            r = noop.apply_async()
            r.get(interval=0.005, timeout=10)
            if i >= warmups:
                lat.append((time.perf_counter() - s) * 1000)
        out['latencies'] = lat
    else:
        raise SystemExit('unknown mode ' + mode)
    out['ms'] = (time.perf_counter() - t0) * 1000
    print('BENCH_RESULT ' + json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
