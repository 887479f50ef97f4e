"""Charts and Markdown tables from a result document (the JSON a run writes)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ENGINE_COLORS = {"turboquant": "tab:blue", "pgvector-hnsw": "tab:orange", "pgvector-ivfflat": "tab:green",
                 "exact": "black"}
# One colour per engine and bit width (or per pgvector index), told apart at a glance.
INDEX_COLORS = {"turboquant b=2": "#1f77b4", "turboquant b=3": "#9467bd", "turboquant b=4": "#17becf",
                "turboquant b=1": "#7f7f7f"}
ENGINE_FALLBACK = {"turboquant": ["#1f3a93", "#6a3d9a", "#b15928", "#e7298a", "#555555"],
                   "pgvector-hnsw": ["#d62728", "#ff7f0e", "#e377c2"],
                   "pgvector-ivfflat": ["#2ca02c", "#bcbd22", "#8c564b"], "exact": ["black", "#555555"]}
# Point labels: the setting swept, shortened.
SETTING_ABBREV = {"rerank": "r", "ef_search": "ef", "probes": "p"}


def _index_color(engine, label, seen):
    """The colour of one index line: fixed for turboquant bit widths, the next free one otherwise."""
    if label in INDEX_COLORS:
        return INDEX_COLORS[label]
    if label not in seen:
        pool = ENGINE_FALLBACK.get(engine, ["#444444"])
        n = len([x for x in seen.values() if x[0] == engine])
        seen[label] = (engine, pool[n % len(pool)])
    return seen[label][1]


def _frontier(pts):
    """The points no other point beats on both recall and QPS (pts sorted by recall): the curve a
    user can reach by choosing settings; a sweep over two knobs (probes x rerank) has many more."""
    out, best = [], -1.0
    for p in sorted(pts, key=lambda p: (-p[0], -p[1])):
        if p[1] > best:
            out.append(p)
            best = p[1]
    return sorted(out)


def _setting_label(settings):
    """'r50', 'ef40', 'p8': the point's setting, or '' for exact search."""
    return ",".join(f"{SETTING_ABBREV.get(n.split('.')[-1], n.split('.')[-1] + '=')}{v}"
                    for n, v in settings.items())


def _series(doc, k, clients=1):
    """{index label: [result rows]} for one k and client count, in sweep order."""
    out = {}
    for r in doc["results"]:
        if r["k"] == k and r["clients"] == clients:
            out.setdefault((r["engine"], r["index"]), []).append(r)
    return out


def _title(doc):
    d = doc["dataset"]
    return f"{d['name']} ({d['n']} x {d['dim']}, {d['metric']}, {d['nq']} queries)"


def charts(doc, stem):
    """Writes <stem>-recall-qps.png, -r1.png, -build.png; returns the paths written."""
    stem = Path(stem)
    paths = []
    ks = sorted({r["k"] for r in doc["results"]})
    if ks:
        k = 10 if 10 in ks else ks[0]
        # left: every point; right: the high-recall corner, where the choice is made
        fig, (ax, zoom) = plt.subplots(1, 2, figsize=(14, 6), gridspec_kw={"width_ratios": [1, 1]})
        seen = {}
        high = []
        for (engine, label), rows in _series(doc, k).items():
            color = _index_color(engine, label, seen)
            high += [r["qps"] for r in rows if r["recall"] >= 0.95]
            style = dict(color=color, marker="o", markersize=4)
            if engine == "exact":
                style["marker"] = "s" if "tqvector" in label else "x"
            pts = sorted((r["recall"], r["qps"], _setting_label(r["settings"])) for r in rows)
            if engine == "turboquant" and " flat" in label:
                style["linestyle"] = ":"
            faint = []
            if any("," in p[2] for p in pts):
                # two knobs swept: the line is the reachable frontier, the other points faint
                faint, pts = pts, _frontier(pts)
            for a in (ax, zoom):
                if faint:
                    a.plot([p[0] for p in faint], [p[1] for p in faint], linestyle="none", marker="o",
                           markersize=3, color=color, alpha=0.3)
                a.plot([p[0] for p in pts], [p[1] for p in pts], label=label, **style)
                for x, y, name in pts:          # every point says its setting
                    if name and (a is ax or x >= 0.95):
                        a.annotate(name, (x, y), textcoords="offset points", xytext=(3, 3),
                                   fontsize=6 if a is ax else 7, color=color)
        zoom.set_xlim(0.95, 1.002)
        if high:
            zoom.set_ylim(min(high) * 0.8, max(high) * 1.25)
        zoom.set_title(f"recall@{k} 0.95 and above", fontsize=10)
        ax.set_title(_title(doc), fontsize=10)
        for a in (ax, zoom):
            a.set_xlabel(f"recall@{k}")
            a.set_ylabel("queries per second (1 client, log)")
            a.set_yscale("log")
            a.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        ax.text(0.01, 0.01, "point labels: r = turboquant.rerank, ef = hnsw.ef_search,\n"
                "p = turboquant.probes or ivfflat.probes; probes x rerank: line = best, faint = others",
                transform=ax.transAxes, fontsize=7, color="#555555")
        p = stem.with_name(stem.name + "-recall-qps.png")
        fig.tight_layout()
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)

        kmax = max(ks)
        groups = _series(doc, kmax)
        if groups:
            cols = min(3, len(groups))
            rows_n = (len(groups) + cols - 1) // cols
            fig, axes = plt.subplots(rows_n, cols, figsize=(4.2 * cols, 3.3 * rows_n), squeeze=False)
            for ax, ((engine, label), rows) in zip(axes.ravel(), groups.items()):
                for r in rows:
                    kk = sorted(int(x) for x in r["r1_at_k"])
                    name = ",".join(f"{n.split('.')[-1]}={v}" for n, v in r["settings"].items()) or "exact"
                    ax.plot(kk, [r["r1_at_k"][str(x)] for x in kk], marker=".", label=name)
                ax.set_xscale("log", base=2)
                ax.set_ylim(min(0.5, ax.get_ylim()[0]), 1.01)
                ax.set_title(label, fontsize=9)
                ax.set_xlabel("k")
                ax.set_ylabel("R@1@k")
                ax.grid(True, alpha=0.3)
                ax.legend(fontsize=6)
            for ax in axes.ravel()[len(groups):]:
                ax.axis("off")
            fig.suptitle("R@1@k (true nearest neighbour within the first k) — " + _title(doc), fontsize=9)
            fig.tight_layout()
            p = stem.with_name(stem.name + "-r1.png")
            fig.savefig(p, dpi=110)
            plt.close(fig)
            paths.append(p)

    if doc["indexes"]:
        idx = doc["indexes"]
        labels = [i["index"] for i in idx]
        seen = {}
        colors = [_index_color(i["engine"], i["index"], seen) for i in idx]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 0.5 * len(idx) + 2))
        a1.barh(labels, [i["build_s"] for i in idx], color=colors)
        a1.set_xlabel("build time (s)")
        a2.barh(labels, [i["index_bytes"] / 2**20 for i in idx], color=colors)
        a2.set_xlabel("index size (MiB)")
        table_mb = max(i["table_bytes"] for i in idx) / 2**20
        a2.axvline(table_mb, color="grey", linestyle="--", label=f"table {table_mb:.0f} MiB")
        a2.legend(fontsize=8)
        a2.set_yticklabels([])
        for a in (a1, a2):
            a.invert_yaxis()
            a.grid(True, axis="x", alpha=0.3)
        fig.suptitle(_title(doc), fontsize=9)
        fig.tight_layout()
        p = stem.with_name(stem.name + "-build.png")
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    return paths


# ---- summary: QPS at recall thresholds against HNSW in the same run ---------------------------

def _p50qps(r):
    """Queries per second implied by the median latency: steadier than wall-clock QPS on a busy machine."""
    return 1000.0 / r["p50_ms"] if r["p50_ms"] > 0 else 0.0


def _best(rows, t, speed=lambda r: r["qps"]):
    """The fastest row (by `speed`) with recall >= t (None if none reaches it)."""
    ok = [r for r in rows if r["recall"] >= t]
    return max(ok, key=speed) if ok else None


def _setting(r):
    return ", ".join(f"{n.split('.')[-1]}={v}" for n, v in r["settings"].items()) or "-"


def summary(doc, thresholds=(0.95, 0.99), k=10):
    """Per index: best QPS at each recall@k threshold, as a ratio to the best HNSW setting of the
    same run (same drift phase); build time and size against HNSW; recall change under drift."""
    rows = [r for r in doc["results"] if r["k"] == k and r["clients"] == 1 and r["engine"] != "exact"]
    groups = {}
    for r in rows:
        groups.setdefault((r["engine"], r["index"], r.get("drift", "before")), []).append(r)
    hnsw = {}
    for phase in ("before", "after"):
        hrows = [r for r in rows if r["engine"] == "pgvector-hnsw" and r.get("drift", "before") == phase]
        hnsw[phase] = {str(t): _best(hrows, t) for t in thresholds}
    hnsw50 = {ph: {str(t): _best(hrows_, t, _p50qps) for t in thresholds}
              for ph, hrows_ in (("before", [r for r in rows if r["engine"] == "pgvector-hnsw" and not r.get("drift")]),
                                 ("after", [r for r in rows if r["engine"] == "pgvector-hnsw" and r.get("drift") == "after"]))}
    builds = {i["index"]: i for i in doc["indexes"]}
    hb = [i for i in doc["indexes"] if i["engine"] == "pgvector-hnsw"]
    hb = hb[0] if hb else None
    out = {"k": k, "thresholds": list(thresholds), "indexes": [],
           "hnsw": {ph: {t: (None if b is None else {"qps": b["qps"], "recall": b["recall"], "setting": _setting(b)})
                         for t, b in v.items()} for ph, v in hnsw.items()}}
    for (engine, index, phase), rs in groups.items():
        base = index[:-len(" +drift")] if index.endswith(" +drift") else index
        e = {"engine": engine, "index": index, "drift": phase, "max_recall": max(r["recall"] for r in rs), "at": {}}
        for t in thresholds:
            b = _best(rs, t)
            h = hnsw[phase][str(t)]
            b50 = _best(rs, t, _p50qps)
            h50 = hnsw50[phase][str(t)]
            e["at"][str(t)] = None if b is None else {
                "qps": b["qps"], "recall": b["recall"], "setting": _setting(b), "p50_ms": b["p50_ms"],
                "qps_vs_hnsw": (b["qps"] / h["qps"]) if h else None,
                "p50_qps": _p50qps(b50), "p50_setting": _setting(b50),
                "p50_qps_vs_hnsw": (_p50qps(b50) / _p50qps(h50)) if h50 and _p50qps(h50) > 0 else None}
        bi = builds.get(base)
        if bi is not None and phase == "before":
            e["build_s"] = bi["build_s"]
            e["index_bytes"] = bi["index_bytes"]
            e["phases"] = bi.get("phases", {})
            if hb is not None:
                e["build_speedup_vs_hnsw"] = hb["build_s"] / bi["build_s"] if bi["build_s"] > 0 else None
                e["size_vs_hnsw"] = bi["index_bytes"] / hb["index_bytes"] if hb["index_bytes"] else None
        out["indexes"].append(e)
    # Drift: recall at the same settings before and after the inserts.
    drift = []
    for (engine, index, phase), rs in groups.items():
        if phase != "after":
            continue
        base = index[:-len(" +drift")]
        before = {json.dumps(r["settings"], sort_keys=True): r for r in groups.get((engine, base, "before"), [])}
        pairs = [(before[json.dumps(r["settings"], sort_keys=True)], r) for r in rs
                 if json.dumps(r["settings"], sort_keys=True) in before]
        if not pairs:
            continue
        deltas = [a["recall"] - b["recall"] for b, a in pairs]
        first95 = next(((b, a) for b, a in pairs if b["recall"] >= 0.95), None)
        drift.append({"engine": engine, "index": base, "worst_delta": min(deltas),
                      "mean_delta": sum(deltas) / len(deltas),
                      "at_first_0.95": None if first95 is None else {
                          "setting": _setting(first95[0]), "before": first95[0]["recall"],
                          "after": first95[1]["recall"]}})
    out["drift"] = drift
    return out


def summary_text(s):
    """The summary as plain lines (printed at the end of a run)."""
    ts = s["thresholds"]
    lines = [f"summary (recall@{s['k']}, 1 client; ratios against the best HNSW setting of this run):"]
    for e in s["indexes"]:
        parts = []
        for t in ts:
            a = e["at"][str(t)]
            if a is None:
                parts.append(f">={t}: not reached (max {e['max_recall']:.4f})")
            else:
                ratio = f" = {a['qps_vs_hnsw']:.2f}x HNSW" if a["qps_vs_hnsw"] else ""
                r50 = f", by p50 {a['p50_qps_vs_hnsw']:.2f}x" if a.get("p50_qps_vs_hnsw") else ""
                parts.append(f">={t}: {a['qps']:.0f} QPS ({a['setting']}){ratio}{r50}")
        extra = ""
        if "build_s" in e:
            extra = f"; build {e['build_s']:.1f} s"
            if e.get("build_speedup_vs_hnsw"):
                extra += f" ({e['build_speedup_vs_hnsw']:.1f}x faster than HNSW)"
            if e.get("size_vs_hnsw"):
                extra += f", size {e['size_vs_hnsw']:.2f} of HNSW"
        lines.append(f"  {e['index']:<32} " + "; ".join(parts) + extra)
    for d in s["drift"]:
        f = d["at_first_0.95"]
        at = f"; at {f['setting']}: {f['before']:.4f} -> {f['after']:.4f}" if f else ""
        lines.append(f"  drift {d['index']:<26} worst recall change {d['worst_delta']:+.4f}, "
                     f"mean {d['mean_delta']:+.4f}{at}")
    return "\n".join(lines)


def summary_markdown(s):
    """Markdown tables of the summary."""
    ts = s["thresholds"]
    head = "| index | drift | " + " | ".join(f"QPS @ >={t} (setting) | x HNSW | x HNSW by p50" for t in ts) + \
           " | build s | x faster build | size / HNSW |"
    out = [head, "|---|---|" + "---:|---:|---:|" * len(ts) + "---:|---:|---:|"]
    for e in s["indexes"]:
        cells = []
        for t in ts:
            a = e["at"][str(t)]
            cells += ["-", "-", "-"] if a is None else [
                f"{a['qps']:.0f} ({a['setting']})", f"{a['qps_vs_hnsw']:.2f}" if a["qps_vs_hnsw"] else "-",
                f"{a['p50_qps_vs_hnsw']:.2f}" if a.get("p50_qps_vs_hnsw") else "-"]
        b = [f"{e['build_s']:.1f}" if "build_s" in e else "",
             f"{e['build_speedup_vs_hnsw']:.1f}" if e.get("build_speedup_vs_hnsw") else "",
             f"{e['size_vs_hnsw']:.3f}" if e.get("size_vs_hnsw") else ""]
        out.append(f"| {e['index']} | {e['drift']} | " + " | ".join(cells + b) + " |")
    if s["drift"]:
        out += ["", "| index | worst recall change | mean change | first setting >= 0.95 before: before -> after |",
                "|---|---:|---:|---|"]
        for d in s["drift"]:
            f = d["at_first_0.95"]
            out.append(f"| {d['index']} | {d['worst_delta']:+.4f} | {d['mean_delta']:+.4f} | "
                       + (f"{f['setting']}: {f['before']:.4f} -> {f['after']:.4f}" if f else "-") + " |")
    return "\n".join(out)


def _family(doc, r):
    """Curve name of a result row in the scaling chart."""
    if r["engine"] == "turboquant":
        return "turboquant flat" if " flat" in r["index"] else "turboquant lists"
    return r["engine"]


def scaling_runs(docs, threshold=0.95, k=10, with_exact=False):
    """{family: [(N, best QPS at recall@k >= threshold, run)]}, one entry per result document (so
    two runs at the same N give two points); run is the document's index in docs."""
    pts = {}
    for j, doc in enumerate(docs):
        n = doc["dataset"]["n"]
        best = {}
        for r in doc["results"]:
            if r["k"] != k or r["clients"] != 1 or r.get("drift") == "after":
                continue
            if r["engine"] == "exact" and not with_exact:
                continue
            if r["recall"] >= threshold:
                f = "exact (seq scan)" if r["engine"] == "exact" else _family(doc, r)
                best[f] = max(best.get(f, 0.0), r["qps"])
        for f, q in best.items():
            pts.setdefault(f, []).append((n, q, j))
    return {f: sorted(v) for f, v in pts.items()}


def scaling_points(docs, threshold=0.95, k=10, with_exact=False):
    """{family: [(N, best QPS at recall@k >= threshold)]} over several result documents; where
    several runs share one N, the best of them (each run's points: scaling_runs)."""
    out = {}
    for f, v in scaling_runs(docs, threshold, k, with_exact).items():
        best = {}
        for n, q, _ in v:
            best[n] = max(best.get(n, 0.0), q)
        out[f] = sorted(best.items())
    return out


def scaling_chart(docs, path, threshold=0.95, k=10, with_exact=True):
    """QPS at recall@k >= threshold against N (log-log), one curve per engine through the best run
    at each N (every run a marker); threshold may be a list: one panel per level. Exact search
    (recall 1 at any level) is drawn dashed as the linear reference. Returns the path."""
    import re

    levels = list(threshold) if isinstance(threshold, (list, tuple)) else [threshold]
    colors = dict(ENGINE_COLORS, **{"turboquant lists": "tab:blue", "turboquant flat": "tab:cyan",
                                    "exact (seq scan)": "gray"})
    fig, axes = plt.subplots(1, len(levels), figsize=(6.2 * len(levels), 5), squeeze=False)
    names = sorted({re.sub(r"-\d+x(\d+)$", r" x \1", d["dataset"]["name"]) for d in docs})
    for ax, t in zip(axes[0], levels):
        runs = scaling_runs(docs, t, k, with_exact)
        best = scaling_points(docs, t, k, with_exact)
        for f, v in sorted(best.items()):
            style = dict(linestyle="--", linewidth=1) if f.startswith("exact") else {}
            ax.plot([p[0] for p in v], [p[1] for p in v], marker="o", label=f, color=colors.get(f), **style)
            for n, q in v:
                ax.annotate(f"{q:.0f}" if q >= 10 else f"{q:.1f}", (n, q), textcoords="offset points",
                            xytext=(4, 4), fontsize=7, color=colors.get(f))
            extra = [(n, q) for n, q, _ in runs[f] if (n, q) not in v]
            if extra:   # other runs at the same N: hollow markers
                ax.plot([p[0] for p in extra], [p[1] for p in extra], linestyle="none", marker="o",
                        markerfacecolor="none", color=colors.get(f))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows (N)")
        ax.set_ylabel(f"best QPS at recall@{k} >= {t} (1 client)")
        ax.set_title(f"QPS at recall@{k} >= {t} vs N ({', '.join(names)})", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def markdown(doc):
    """Markdown tables (indexes, then queries) for docs and the README."""
    out = [f"Dataset: {_title(doc)}  ", f"Hardware: {doc.get('hardware', '?')}  ",
           f"Server: {doc['postgres']['version'].split(',')[0]}; extensions: "
           + ", ".join(f"{k} {v}" for k, v in doc.get("extensions", {}).items() if v), ""]
    if doc["indexes"]:
        out += ["| index | build s | index MiB | table MiB |", "|---|---:|---:|---:|"]
        for i in doc["indexes"]:
            out.append(f"| {i['index']} | {i['build_s']:.1f} | {i['index_bytes'] / 2**20:.1f} | "
                       f"{i['table_bytes'] / 2**20:.1f} |")
        out.append("")
    out += ["| engine | index | setting | k | clients | recall@k | R@1@1 | QPS | p50 ms | p99 ms |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in doc["results"]:
        setting = ", ".join(f"{n.split('.')[-1]}={v}" for n, v in r["settings"].items()) or "-"
        out.append(f"| {r['engine']} | {r['index']} | {setting} | {r['k']} | {r['clients']} | {r['recall']:.4f} | "
                   f"{r['r1_at_k'].get('1', float('nan')):.3f} | {r['qps']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    if doc.get("skipped"):
        out += [""] + [f"- skipped {s['engine']}: {s['reason']}" for s in doc["skipped"]]
    if doc.get("summary"):
        out += ["", summary_markdown(doc["summary"])]
    return "\n".join(out)


def performance_section(doc, json_path, kernel=None, kernel_path=None, image_prefix=""):
    """The README's "Performance" section, generated from one run (and a kernel run)."""
    stem = Path(json_path).with_suffix("").name
    d = doc["dataset"]
    ext = ", ".join(f"{k} {v}" for k, v in doc.get("extensions", {}).items() if v)
    out = ["## Performance", "",
           f"> Generated from a real run by `bench/report.py` — not hand-edited. Machine: {doc['hardware']}; "
           f"{doc['postgres']['version'].split(' on ')[0]}; {ext}. The machine was shared with other work "
           "while this ran, so treat QPS and latency as indicative; recall figures are exact.", "",
           "Reproduce:", "", "```sh", doc["command"], "```", "",
           f"Data: {d['name']} — {d['n']:,} x {d['dim']} vectors, {d['nq']:,} queries, {d['metric']} distance. "
           "One query at a time per client (`ORDER BY v <=> $1 LIMIT k`, prepared, binary parameter); "
           "recall@10 against exact ground truth; QPS and latency as seen by the client.", "",
           f"![recall@10 vs QPS]({image_prefix}{stem}-recall-qps.png)", "",
           f"![build time and index size]({image_prefix}{stem}-build.png)", ""]
    if doc["indexes"]:
        out += ["| index | build s | index MiB | table MiB |", "|---|---:|---:|---:|"]
        for i in doc["indexes"]:
            out.append(f"| {i['index']} | {i['build_s']:.1f} | {i['index_bytes'] / 2**20:.1f} | "
                       f"{i['table_bytes'] / 2**20:.1f} |")
        out.append("")
    out += ["| engine | index | setting | recall@10 | R@1@1 | QPS (1 client) | QPS (2 clients) | p50 ms | p99 ms |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    two = {(r["index"], json.dumps(r["settings"], sort_keys=True)): r for r in doc["results"]
           if r["k"] == 10 and r["clients"] == 2}
    for r in doc["results"]:
        if r["k"] != 10 or r["clients"] != 1:
            continue
        setting = ", ".join(f"{n.split('.')[-1]}={v}" for n, v in r["settings"].items()) or "-"
        r2 = two.get((r["index"], json.dumps(r["settings"], sort_keys=True)))
        out.append(f"| {r['engine']} | {r['index']} | {setting} | {r['recall']:.4f} | {r['r1_at_k']['1']:.3f} | "
                   f"{r['qps']:.0f} | {r2['qps']:.0f} |" if r2 else
                   f"| {r['engine']} | {r['index']} | {setting} | {r['recall']:.4f} | {r['r1_at_k']['1']:.3f} | "
                   f"{r['qps']:.0f} | - |")
        out[-1] += f" {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |"
    out += ["", f"R@1@k curves: ![R@1@k]({image_prefix}{stem}-r1.png)", "",
            f"All measurements (k = 100 too) are in `bench/results/{Path(json_path).name}`.", ""]
    if kernel is not None:
        from_kb = __import__("kernel_bench")
        out += ["### Scan kernel vs FAISS fast scan", "",
                "The core library alone (no PostgreSQL), flat scan of every code, no re-ranking, against FAISS "
                "`IndexPQFastScan` at the same code bytes per vector (M = d/2 for 2 bits, M = d for 4 bits):", "",
                "```sh", "make -C bench", kernel["command"].strip(), "```", "", from_kb.markdown(kernel), "",
                "R@1@k: the true nearest neighbour within the first k of the quantized order. Wrong lists: "
                "queries whose top-64 holds none of the true top-10. Code bytes exclude turboquant's two floats "
                "per vector (norm, correction). FAISS is used as prescribed — `IndexPQFastScan` alone, with no "
                "OPQ or rotation in front — so on the synthetic sets, whose variance decays along the axes, "
                "PQ's equal bits per sub-space are a handicap; the two real sets are the like-for-like rows. "
                "Batch: all queries in one call, the engine's threads split them; single: one query per call, "
                "with 2 threads two callers at once. Median of 3 runs on a machine shared with other work.", "",
                f"Full results: `bench/results/{Path(kernel_path).name}`.", ""]
    return "\n".join(out)


def combine(docs, thresholds=(0.95, 0.99)):
    """One document from runs on the same rows and queries (e.g. an HNSW-only run and a turboquant
    run on the tables it kept, --reuse-tables): indexes, results and loads of all, a fresh summary.
    Refuses runs whose dataset (name, n, dim, queries, metric) differs."""
    if not docs:
        raise ValueError("nothing to combine")
    key = lambda d: {k: d["dataset"].get(k) for k in ("name", "n", "dim", "nq", "metric")}
    for d in docs[1:]:
        if key(d) != key(docs[0]):
            raise ValueError(f"different datasets: {key(docs[0])} vs {key(d)}")
    out = dict(docs[0])
    out["combined_from"] = [{"started_at": d.get("started_at"), "command": d.get("command"),
                             "source": d.get("source"), "extensions": d.get("extensions")} for d in docs]
    out["indexes"] = [i for d in docs for i in d.get("indexes", [])]
    out["results"] = [r for d in docs for r in d.get("results", [])]
    out["skipped"] = [s for d in docs for s in d.get("skipped", [])
                      if not any(r["engine"] == s["engine"] or s["engine"] == "pgvector" and r["engine"].startswith("pgvector")
                                 for dd in docs for r in dd.get("results", []))]
    out["loads"] = {k: v for d in docs for k, v in d.get("loads", {}).items()}
    out["extensions"] = {k: v for d in docs for k, v in (d.get("extensions") or {}).items() if v}
    out["summary"] = summary(out, list(thresholds))
    return out


def main(argv=None):
    """report.py RESULT.json [--charts] [--performance [KERNEL.json]]: Markdown to stdout.
    report.py --scaling OUT.png RESULT.json...  [--threshold 0.95[,0.99]]: the QPS-at-recall vs N chart
        (one panel per level; runs at the same N: the line goes through the best, the others hollow).
    report.py --combine OUT.json RESULT.json...: one document (and summary) from runs on the same data."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--combine":
        doc = combine([json.loads(Path(p).read_text()) for p in argv[2:]])
        Path(argv[1]).write_text(json.dumps(doc, indent=1, default=str) + "\n")
        print(summary_text(doc["summary"]))
        return
    if argv and argv[0] == "--scaling":
        levels = [0.95]
        if "--threshold" in argv:
            i = argv.index("--threshold")
            levels = [float(x) for x in argv[i + 1].split(",")]
            argv = argv[:i] + argv[i + 2:]
        paths = argv[2:]
        docs = [json.loads(Path(p).read_text()) for p in paths]
        print(scaling_chart(docs, argv[1], levels if len(levels) > 1 else levels[0]))
        for t in levels:
            print(f"recall@10 >= {t}:")
            for f, v in sorted(scaling_runs(docs, t, with_exact=True).items()):
                print(f"  {f}: " + ", ".join(f"N={n}: {q:.1f} QPS ({Path(paths[j]).name})" for n, q, j in v))
        return
    doc = json.loads(Path(argv[0]).read_text())
    if "--performance" in argv:
        i = argv.index("--performance")
        kpath = argv[i + 1] if len(argv) > i + 1 and not argv[i + 1].startswith("--") else None
        kernel = json.loads(Path(kpath).read_text()) if kpath else None
        prefix = "../bench/results/" if "--from-docs" in argv else "bench/results/"
        print(performance_section(doc, argv[0], kernel, kpath, prefix))
    else:
        print(markdown(doc))
    if "--charts" in argv:
        for p in charts(doc, Path(argv[0]).with_suffix("")):
            print(p, file=sys.stderr)


if __name__ == "__main__":
    main()
