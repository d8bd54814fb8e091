#!/usr/bin/python3
"""troupe's Kubernetes manifests (samples/cluster/kubernetes), read as
Kubernetes reads them.

    k8s_manifests.py check TROUPE_EXE DIR
        checks that the manifests hold together: a Secret with the token that
        every container's TROUPE_TOKEN names; the head's Deployment and a
        Service selecting its pods, on the ports it listens on; the workers
        joining that Service; probes on /healthz at the metrics port; every
        flag of a container's command one `troupe start` takes (from its
        --help); every $(VAR) a variable of the container.
    k8s_manifests.py args DIR DEPLOYMENT VAR=VALUE...
        prints the container's arguments of DEPLOYMENT, one per line, with
        $(VAR) replaced as Kubernetes would (VALUE standing in for what the
        cluster gives, e.g. the CPU limit): the container test runs them.
"""
import pathlib
import re
import subprocess
import sys

import yaml


def load(folder):
    docs = []
    for f in sorted(pathlib.Path(folder).glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(f.read_text()) if d]
    return docs


def find(docs, kind, name):
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return d
    raise SystemExit(f"no {kind} named {name}")


def container(deployment):
    return deployment["spec"]["template"]["spec"]["containers"][0]


def flag_value(args, flag):
    return args[args.index(flag) + 1] if flag in args else None


def check(troupe, folder):
    docs = load(folder)
    failures = []

    def expect(ok, what):
        print(("ok:     " if ok else "FAILED: ") + what)
        if not ok:
            failures.append(what)

    start_help = subprocess.run([troupe, "start", "--help"], capture_output=True,
                                text=True, check=True).stdout
    known_flags = set(re.findall(r"--[a-z][a-z-]*", start_help))
    secret = find(docs, "Secret", "troupe-token")
    expect("token" in secret.get("stringData", {}) or "token" in secret.get("data", {}),
           "the Secret holds a token")
    head = find(docs, "Deployment", "troupe-head")
    workers = find(docs, "Deployment", "troupe-worker")
    service = find(docs, "Service", "troupe-head")
    expect(head["spec"]["replicas"] == 1 and head["spec"]["strategy"]["type"] == "Recreate",
           "one head, never two at once")
    labels = head["spec"]["template"]["metadata"]["labels"]
    expect(all(labels.get(k) == v for k, v in service["spec"]["selector"].items()),
           "the Service selects the head's pods")
    expect(head["spec"]["selector"]["matchLabels"].items() <= labels.items()
           and workers["spec"]["selector"]["matchLabels"].items()
           <= workers["spec"]["template"]["metadata"]["labels"].items(),
           "each Deployment selects its own pods")
    head_args = container(head)["args"]
    listens = {flag_value(head_args, f) for f in ["--port", "--metrics-port", "--dashboard-port"]}
    expect({str(p["targetPort"]) for p in service["spec"]["ports"]} <= listens,
           "the Service's ports are ports the head listens on")
    expect(head_args[:2] == ["start", "--head"] and "--block" in head_args,
           "the head runs `troupe start --head --block`")
    worker_args = container(workers)["args"]
    port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "troupe")
    expect(flag_value(worker_args, "--address") == f"troupe-head:{port}",
           "the workers join the head through its Service")
    for name, dep in [("head", head), ("workers", workers)]:
        c = container(dep)
        args = c["args"]
        env = {e["name"]: e for e in c.get("env", [])}
        unknown = [a for a in args if a.startswith("--") and a not in known_flags]
        expect(not unknown, f"{name}: every flag is one `troupe start` takes {unknown or ''}")
        ref = env.get("TROUPE_TOKEN", {}).get("valueFrom", {}).get("secretKeyRef", {})
        expect(ref.get("name") == "troupe-token" and ref.get("key") == "token",
               f"{name}: TROUPE_TOKEN comes from the Secret")
        missing = [v for a in args for v in re.findall(r"\$\((\w+)\)", a) if v not in env]
        expect(not missing, f"{name}: every $(VAR) of its arguments is set {missing or ''}")
        metrics = flag_value(args, "--metrics-port")
        for probe in ["readinessProbe", "livenessProbe"]:
            get = c.get(probe, {}).get("httpGet", {})
            expect(get.get("path") == "/healthz" and str(get.get("port")) == metrics,
                   f"{name}: its {probe} asks /healthz at the metrics port")
        expect(flag_value(args, "--metrics-bind") == "0.0.0.0",
               f"{name}: the probes reach its metrics port from outside the pod")
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        expect("/dev/shm" in mounts, f"{name}: /dev/shm is large enough for the object store")
    if failures:
        raise SystemExit(f"{len(failures)} checks failed")


def args(folder, deployment, values):
    c = container(find(load(folder), "Deployment", deployment))
    subst = dict(v.split("=", 1) for v in values)
    for a in c["args"]:
        print(re.sub(r"\$\((\w+)\)", lambda m: subst[m.group(1)], a))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "args":
        args(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        raise SystemExit(__doc__)
