#!/usr/bin/env python3
"""Runs Ray's own `ray microbenchmark` and `troupe microbenchmark --suite ray`
one after the other on this machine and prints, for every row, troupe's
figure, Ray's and their ratio (troupe / Ray; above 1: troupe is faster).

Ray is a measuring tool here, not a dependency of troupe: it is installed
from PyPI into a virtual environment of its own (by default
~/.cache/troupe-ray-venv), once. Ray's run takes about 8 minutes (it sleeps
10 s before each row); troupe's under 3.

    tools/ray_compare.py                       # both, then the table
    tools/ray_compare.py --markdown            # the table for BENCHMARKS.md
    TESTS_TO_RUN='actor calls' tools/ray_compare.py   # only Ray's rows with that text
    tools/ray_compare.py --ray-output ray.txt  # reuse a saved Ray run (its stdout)

Ray's own filters pass through: TESTS_TO_RUN (run only rows whose name
contains it) and TESTS_TO_SKIP (default here: "client:", the Ray Client
rows, which have no troupe counterpart).
"""

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys

RAY_SPEC = "2.60.*"
ROW = re.compile(r"^(.+?) per second ([-0-9.eE+]+) \+- ([-0-9.eE+]+)\s*$")


def troupe_name(ray_name):
    """Ray's row name as troupe prints it: lower case, each run of other
    characters than letters and digits one '_', prefixed 'ray_'."""
    return "ray_" + re.sub(r"[^a-z0-9]+", "_", ray_name.lower()).strip("_")


def ensure_ray(venv, spec):
    """Creates the venv and installs Ray into it unless it is there; returns
    the path of its `ray` command and the installed version."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    have = subprocess.run([str(python), "-c", "import ray; print(ray.__version__)"],
                          capture_output=True, text=True)
    want = spec.rstrip("*").rstrip(".")
    extras = subprocess.run([str(python), "-c", "import numpy, grpc"], capture_output=True)
    if (have.returncode != 0 or not have.stdout.strip().startswith(want)
            or extras.returncode != 0):
        # ray_perf.py imports numpy, and Ray Client (grpc) for its last rows:
        # the ray wheel requires neither.
        pip = [str(python), "-m", "pip", "install", "-q"]
        if subprocess.run(pip + [f"ray[client]=={spec}", "numpy"]).returncode != 0:
            print(f"ray_compare: ray=={spec} is not installable here; "
                  "installing the newest Ray instead", file=sys.stderr)
            subprocess.run(pip + ["ray[client]", "numpy"], check=True)
        have = subprocess.run([str(python), "-c", "import ray; print(ray.__version__)"],
                              capture_output=True, text=True, check=True)
    return venv / "bin" / "ray", have.stdout.strip()


def run_ray(ray):
    """Runs `ray microbenchmark`, echoing its output; returns its stdout."""
    env = dict(os.environ)
    env.setdefault("TESTS_TO_SKIP", "client:")
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    proc = subprocess.Popen([str(ray), "microbenchmark"], stdout=subprocess.PIPE,
                            text=True, env=env)
    lines = []
    for line in proc.stdout:
        sys.stderr.write("ray: " + line)
        lines.append(line)
    if proc.wait() != 0:
        print(f"ray_compare: ray microbenchmark exited with {proc.returncode}",
              file=sys.stderr)
    return "".join(lines)


def parse_ray(text):
    """Returns {troupe name: (Ray's name, mean)} of Ray's output."""
    rows = {}
    for line in text.splitlines():
        m = ROW.match(line.strip())
        if m:
            rows[troupe_name(m.group(1))] = (m.group(1), float(m.group(2)))
    return rows


def run_troupe(troupe, quick):
    cmd = [str(troupe), "microbenchmark", "--suite", "ray", "--json"]
    if quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        print(f"ray_compare: troupe microbenchmark exited with {out.returncode}",
              file=sys.stderr)
    return json.loads(out.stdout)


def fmt(x):
    if not isinstance(x, (int, float)):
        return str(x)
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"


def table(troupe_rows, ray_rows, markdown):
    header = ("name", "troupe", "ray", "ratio")
    lines = []
    for name, value in troupe_rows.items():
        ray = ray_rows.get(name, (None, None))[1]
        ok = isinstance(value, (int, float)) and ray
        ratio = f"{value / ray:.2f}x" if ok else "-"
        lines.append((name, fmt(value), fmt(ray) if ray is not None else "-", ratio))
    for name, (ray_name, ray) in ray_rows.items():
        if name not in troupe_rows:
            lines.append((name, "-", fmt(ray), "-"))
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|"]
        out += ["| " + " | ".join(row) + " |" for row in lines]
        return "\n".join(out)
    width = max(len(r[0]) for r in lines + [header])
    return "\n".join(f"{r[0]:<{width}} {r[1]:>12} {r[2]:>12} {r[3]:>8}"
                     for r in [header] + lines)


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--troupe", default=str(root / "build" / "tools" / "troupe"),
                   help="the troupe executable (default: build/tools/troupe)")
    p.add_argument("--venv", default=str(pathlib.Path.home() / ".cache" / "troupe-ray-venv"),
                   help="where Ray is installed")
    p.add_argument("--ray-version", default=RAY_SPEC, help="the Ray release (pip spec)")
    p.add_argument("--ray-output", help="a saved stdout of `ray microbenchmark` to use "
                                        "instead of running Ray")
    p.add_argument("--quick", action="store_true", help="troupe's --quick run")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = p.parse_args()

    if args.ray_output:
        ray_text = pathlib.Path(args.ray_output).read_text()
        version = "(saved output)"
    else:
        ray, version = ensure_ray(pathlib.Path(args.venv), args.ray_version)
        print(f"ray_compare: Ray {version}", file=sys.stderr)
        ray_text = run_ray(ray)
    ray_rows = parse_ray(ray_text)
    if not ray_rows:
        print("ray_compare: Ray printed no rows (see its output above)", file=sys.stderr)
    troupe_rows = run_troupe(args.troupe, args.quick)
    print(f"# Ray {version} vs troupe, {os.cpu_count()} cores; ratio = troupe / Ray")
    print(table(troupe_rows, ray_rows, args.markdown))


if __name__ == "__main__":
    main()
