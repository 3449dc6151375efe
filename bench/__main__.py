"""`make bench` / `python -m bench [audit|bids] [options]`: the benchmark suite.

Never part of `make test`. Without a name every benchmark runs in turn:
the audit-log figures (issue 9) and the deadline burst against gunicorn
(issue 5). Options after the name go to that benchmark.
"""
import sys

from bench import audit_bench, bids_burst

BENCHMARKS = {"audit": audit_bench.main, "bids": bids_burst.main}

args = sys.argv[1:]
if args and args[0] in BENCHMARKS:
    result = BENCHMARKS[args[0]](args[1:])
    sys.exit(result if isinstance(result, int) else 0)
failed = False
for name, run in BENCHMARKS.items():
    print(f"=== {name} ===", flush=True)
    result = run(args)
    failed = failed or (isinstance(result, int) and result != 0)
sys.exit(1 if failed else 0)
