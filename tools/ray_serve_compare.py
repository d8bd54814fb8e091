#!/usr/bin/env python3
"""Ray Serve against the load that samples/serve_model puts on troupe::serve.

Starts Ray Serve (from the venv ray_compare.py makes, ~/.cache/troupe-ray-venv,
with `pip install "ray[serve]==2.60.0"`) with a deployment that answers at
once (as serve_model's null model), runs `serve_model --load PORT /null`
against it (8 keep-alive connections for 2 s, the same client), then the same
against troupe::serve, and prints both.

Usage: ray_serve_compare.py BUILD_DIR  (run with the venv's python)
"""
import subprocess
import sys
import time

import ray
from ray import serve
from starlette.requests import Request


@serve.deployment(num_replicas=1)
class Null:
    async def __call__(self, request: Request):
        return await request.json()


def main():
    build = sys.argv[1]
    load = [f"{build}/samples/serve_model", "--load"]
    ray.init(num_cpus=2, include_dashboard=False)
    serve.start(http_options={"host": "127.0.0.1", "port": 8123})
    serve.run(Null.bind(), route_prefix="/null")
    time.sleep(1)
    ray_line = subprocess.run(load + ["8123", "/null"], capture_output=True,
                              text=True).stdout.strip()
    serve.shutdown()
    ray.shutdown()
    troupe_line = subprocess.run([f"{build}/samples/serve_model"], capture_output=True,
                                 text=True).stdout
    null = [l for l in troupe_line.splitlines() if "answers at once" in l]
    print("Ray Serve 2.60 (one replica that answers at once):", ray_line)
    print("troupe::serve:", null[0] if null else troupe_line)


if __name__ == "__main__":
    main()
