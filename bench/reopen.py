"""What a commit costs the searches that follow it: an index kept open across commits against one
opened afresh (which is what each search thread paid before ranking data was shared and carried).

    python bench/reopen.py [--data DIR] [--commits 4] [--batch 100] [--queries 60] [--facets]

Uses the index bench/serve.py builds (the baomoi collection without its last 2,000 records; built
here when absent) on a copy in bench/out/reopen-index. Each round commits ``--batch`` of the
held-back records (``Index.add``, one process), then runs the same headline queries (limit 10,
snippets; ``--facets``: author, tags, year and month counted too, as the search page asks):

- kept: through the Index open before the commit (its searcher reopens; per-segment data and the
  postings decoded before are carried over);
- fresh: through an Index opened after the commit (everything read again);
- warm: through the kept Index again (nothing left to read: the floor).

The two first passes alternate in order from round to round. Reported: each pass's total, and the
reopening cost (first pass minus warm) of kept against fresh. Data absent: says so, exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT_DIR, add_data_argument, require_data, speed_corpus_path  # noqa: E402
from bench.serve import prepare  # noqa: E402


def timed(ix, queries: list[str], facets: tuple[str, ...]) -> float:
    t0 = time.perf_counter()
    for q in queries:
        ix.search(q, limit=10, facets=facets)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_argument(ap)
    ap.add_argument("--commits", type=int, default=4)
    ap.add_argument("--batch", type=int, default=100, help="documents per commit")
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--facets", action="store_true", help="count the page's facets too")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)

    corpus = speed_corpus_path(args.data)
    require_data(corpus)
    built, live_file, base = prepare(corpus, 2000)
    from vnsearch.index import Index

    index = OUT_DIR / "reopen-index"
    if index.exists():
        shutil.rmtree(index)
    shutil.copytree(built, index)
    live = [json.loads(line) for line in live_file.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(0)
    queries = [r["title"] for r in rng.sample(base, args.queries) if r.get("title")]
    facets = ("author", "tags", "year", "month") if args.facets else ()

    kept = Index.open(index)
    kept.search("khởi động")  # the segmenter loaded
    timed(kept, queries, facets)  # every query word decoded once
    writer = Index.open(index)
    rounds = []
    load = os.getloadavg()[0]
    for i in range(args.commits):
        batch = live[1 + i * args.batch : 1 + (i + 1) * args.batch]  # live[0] is in already
        writer.add(batch, jobs=1)
        fresh = Index.open(index)
        if i % 2 == 0:
            t_kept, t_fresh = timed(kept, queries, facets), timed(fresh, queries, facets)
        else:
            t_fresh, t_kept = timed(fresh, queries, facets), timed(kept, queries, facets)
        t_warm = timed(kept, queries, facets)
        fresh.close()
        rounds.append({"documents": len(kept), "segments": kept.stats()["segments"],
                       "kept_s": t_kept, "fresh_s": t_fresh, "warm_s": t_warm})
        r = rounds[-1]
        print(f"commit {i + 1}: {r['documents']:,} documents, {r['segments']} segments; "
              f"{len(queries)} queries: kept {t_kept:.2f} s, fresh {t_fresh:.2f} s, warm "
              f"{t_warm:.2f} s; reopening cost kept/fresh "
              f"{(t_kept - t_warm) / max(t_fresh - t_warm, 1e-9):.2f}", flush=True)
    kept_cost = sum(r["kept_s"] - r["warm_s"] for r in rounds)
    fresh_cost = sum(r["fresh_s"] - r["warm_s"] for r in rounds)
    result = {"queries": len(queries), "facets": list(facets), "batch": args.batch,
              "load_avg_before": load, "load_avg_after": os.getloadavg()[0], "rounds": rounds,
              "reopen_cost_kept_s": kept_cost, "reopen_cost_fresh_s": fresh_cost,
              "ratio_kept_to_fresh": kept_cost / max(fresh_cost, 1e-9)}
    print(f"reopening cost over {args.commits} commits: kept {kept_cost:.2f} s, fresh "
          f"{fresh_cost:.2f} s (ratio {result['ratio_kept_to_fresh']:.2f}); load average "
          f"{load:.1f} before, {result['load_avg_after']:.1f} after")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
