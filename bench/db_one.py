"""One database, one process: build (or reuse) it, time the scoped lists, print a JSON
line `BENCH_RESULT {...}` for bench.run. Usage:
    python -m bench.db_one --db sqlite|postgresql --rows N [--repeat 20] [--rebuild]
    python -m bench.db_one --db … --rows K --tag small --build-only   (the small export dataset)"""
import argparse
import json

from bench.build import ensure_database
from bench.common import LIST_USERS, storage_tag, url_for
from bench.listing import bench_user


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, choices=("sqlite", "postgresql"))
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--tag", help="a second dataset of the same kind (e.g. small)")
    ap.add_argument("--build-only", action="store_true", help="build or reuse, time nothing")
    args = ap.parse_args(argv)
    url = url_for(args.db, args.tag)
    app, built, build_s = ensure_database(args.db, url, args.rows, rebuild=args.rebuild,
                                          tag=storage_tag(args.db, args.tag))
    lists = []
    for username, label in ([] if args.build_only else LIST_USERS):
        result = bench_user(app, username, repeat=args.repeat)
        result["label"] = label
        lists.append(result)
        print(f"  [list] {args.db} {username}: count={result['count']:,} "
              f"orm={result['orm_ms']:.2f}ms raw={result['raw_ms']:.2f}ms "
              f"ratio={result['ratio']:.2f}", flush=True)
    print("BENCH_RESULT " + json.dumps({"db": args.db, "url": url, "built": built,
                                        "build_s": build_s, "lists": lists,
                                        "rows": args.rows, "tag": args.tag}), flush=True)


if __name__ == "__main__":
    main()
