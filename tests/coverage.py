#!/usr/bin/env python3
"""tests/coverage.py - line coverage per module, from a build made with -DSTRATA_COVERAGE=ON.

    tests/coverage.py BUILD_DIR [--min MODULE=PERCENT ...] [--files MODULE ...]

Runs gcovr over BUILD_DIR's .gcda files (written by whatever ran there: unit and integration
tests alike) and prints one line per module - a module is any top-level folder of the source
tree that holds covered sources, so a new folder (store/) shows up by itself; tests/ and bench/
are not modules. With --min, a module below its threshold is reported and the exit status is 1
(a module named in --min but absent is skipped: it does not exist yet on this branch). With
--files, the uncovered lines of those modules are listed file by file.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_MODULES = {"tests", "bench"}


def gcovr_json(build_dir):
    """Returns gcovr's summary and detailed reports, from one gcovr run."""
    with tempfile.TemporaryDirectory() as tmp:
        summary, detailed = os.path.join(tmp, "summary.json"), os.path.join(tmp, "detailed.json")
        # One gcov at a time: gcovr's parallel mode hangs when a gcov output fails to parse.
        cmd = ["gcovr", "--root", ROOT, "--object-directory", build_dir,
               "--exclude", os.path.join(ROOT, "tests") + "/", "--exclude", os.path.join(ROOT, "bench") + "/",
               "--json-summary", summary, "--json", detailed]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=600)
        with open(summary) as f, open(detailed) as g:
            return json.load(f), json.load(g)


def module_of(filename):
    parts = filename.split("/")
    return parts[0] if len(parts) > 1 and parts[0] not in NOT_MODULES else None


def per_module(summary):
    modules = {}
    for f in summary["files"]:
        module = module_of(f["filename"])
        if module is None:
            continue
        covered, total = modules.get(module, (0, 0))
        modules[module] = (covered + f["line_covered"], total + f["line_total"])
    return modules


def uncovered_lines(detailed, wanted):
    for f in sorted(detailed["files"], key=lambda f: f["file"]):
        if module_of(f["file"]) not in wanted:
            continue
        lines = [str(line["line_number"]) for line in f["lines"]
                 if line["count"] == 0 and not line.get("gcovr/noncode", False)]
        if lines:
            print(f"  {f['file']}: {', '.join(lines)}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir")
    parser.add_argument("--min", action="append", default=[], metavar="MODULE=PERCENT")
    parser.add_argument("--files", action="append", default=[], metavar="MODULE")
    args = parser.parse_args()

    summary, detailed = gcovr_json(args.build_dir)
    modules = per_module(summary)
    thresholds = {}
    for item in args.min:
        name, _, percent = item.partition("=")
        thresholds[name] = float(percent)

    short = []
    print(f"{'module':<10} {'lines':>7} {'covered':>8} {'coverage':>9}  minimum")
    all_covered = all_total = 0
    for name in sorted(modules):
        covered, total = modules[name]
        all_covered += covered
        all_total += total
        percent = 100.0 * covered / total if total else 100.0
        minimum = thresholds.get(name)
        verdict = ""
        if minimum is not None:
            verdict = f"{minimum:.0f}%"
            if percent < minimum:
                verdict += "  BELOW"
                short.append(f"{name} {percent:.1f}% < {minimum:.0f}%")
        print(f"{name + '/':<10} {total:>7} {covered:>8} {percent:>8.1f}%  {verdict}")
    percent = 100.0 * all_covered / all_total if all_total else 100.0
    print(f"{'total':<10} {all_total:>7} {all_covered:>8} {percent:>8.1f}%")

    if args.files:
        print("uncovered lines:")
        uncovered_lines(detailed, set(args.files))
    if short:
        print("coverage below the minimum: " + ", ".join(short))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
