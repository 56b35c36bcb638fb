"""`make bench`: the pipeline's cost per stage on four generated workloads (XS: the
floor), against the raw-scan limit of the same files, the nightly run against the full
rebuild, and the CLV stage against `lifetimes`. See docs/performance.md.

    python -m bench run --workloads S,M     # measure, write bench/results/*.json
    python -m bench render                  # rebuild docs/performance.md's tables from them
"""
