"""Container start-to-exit with spectrum, crun and runc on one bundle, driven from bench/container/run.

Latency: spectrum-compare runs `RUNTIME --root R run --bundle B ID` of /bin/true interleaved
(medians of wall and CPU time, peak RSS, ratios to crun, the first). `run` deletes the container on
exit, so one id per runtime serves every round. Throughput: 100 back to back, 64 with 8 in parallel.
Then the handlers (issue 14): a hello-world wasm container against the same module under
`spectrum run --tier wasm` and a /bin/true container, a /bin/true vm container (busybox's, static)
against `spectrum run --tier vm` and the container, and containers per second of each handler,
back to back and 8 in parallel. With a 4th argument `handlers`, only the handlers part (the
container baseline measured for spectrum alone)."""
import atexit, itertools, json, os, shutil, subprocess, sys, tempfile, time, concurrent.futures

build, repo, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
handlers_only = len(sys.argv) > 4 and sys.argv[4] == "handlers"
spectrum = os.path.join(build, "spectrum")
compare = os.path.join(build, "spectrum-compare")
tmp = tempfile.mkdtemp(prefix="spectrum-bench-")
os.chmod(tmp, 0o755)
atexit.register(shutil.rmtree, tmp, True)  # also when a runtime fails mid-run
subprocess.run([os.path.join(repo, "scripts/busybox-rootfs"), os.path.join(tmp, "rootfs")], check=True)

def make_bundle(name, seccomp):
    bundle = os.path.join(tmp, name)
    os.mkdir(bundle)
    args = [spectrum, "spec", "--no-terminal", "--bundle", bundle] + (["--seccomp"] if seccomp else [])
    subprocess.run(args, check=True)
    path = os.path.join(bundle, "config.json")
    config = json.load(open(path))
    config["process"]["args"] = ["/bin/true"]
    config["root"]["path"] = os.path.join(tmp, "rootfs")
    json.dump(config, open(path, "w"))
    return bundle

bundles = {"plain": make_bundle("plain", False), "seccomp": make_bundle("seccomp", True)}
runtimes = {"crun": ["crun"], "spectrum": [spectrum], "spectrum-oci": [os.path.join(build, "spectrum-oci")], "runc": ["runc"]}  # crun first: the baseline
ids = itertools.count()  # next() is atomic under the GIL: safe from the pool threads

def one(runtime, bundle):
    cid = "bench-%d-%d" % (os.getpid(), next(ids))
    root = os.path.join(tmp, "state-" + runtime)
    argv = runtimes[runtime] + ["--root", root, "run", "--bundle", bundle, cid]
    start = time.perf_counter()
    # posix_spawn (vfork underneath): spawnvp's fork of this Python process would cost more than
    # some of the runtimes measured, and would flatten their ratios.
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit("%s failed (status %d): %s" % (runtime, status, " ".join(argv)))
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0

def median(values):
    values = sorted(values)
    return values[len(values) // 2]

rootfs = os.path.join(tmp, "rootfs")
for profile, bundle in ({} if handlers_only else bundles).items():
    print("== create-to-exit of /bin/true, %s profile (%d rounds; ratios to crun)" % (
        "Docker-like default seccomp" if profile == "seccomp" else "no seccomp", rounds), flush=True)
    commands = ["%s=%s --root %s/state-%s run --bundle %s %s-lat" % (r, " ".join(runtimes[r]), tmp, r, bundle, r) for r in runtimes]
    if profile == "seccomp":
        commands.append("spectrum-tier=%s run --tier container --rootfs %s -- /bin/true" % (spectrum, rootfs))
    subprocess.run([compare, "--rounds", str(rounds), "--warmup", "2"] + commands, check=True)
    print(flush=True)

def throughput(runtime, bundle, total, parallel):
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda _: one(runtime, bundle), range(total)))
    return total / (time.perf_counter() - start)

rates = {}
if handlers_only:
    rates[("plain", "spectrum", 1)] = throughput("spectrum", bundles["plain"], 100, 1)
    rates[("plain", "spectrum", 8)] = throughput("spectrum", bundles["plain"], 64, 8)
else:
    for profile, bundle in bundles.items():
        for runtime in runtimes:
            rates[(profile, runtime, 1)] = throughput(runtime, bundle, 100, 1)
        for runtime in runtimes:
            rates[(profile, runtime, 8)] = throughput(runtime, bundle, 64, 8)

    print("containers per second (100 back to back; 64 with 8 in parallel)")
    print("%-8s %-9s %12s %12s %12s %14s" % ("profile", "runtime", "serial/s", "serial/crun", "8-parallel/s", "8-par/crun"))
    for profile in bundles:
        for runtime in runtimes:
            print("%-8s %-9s %12.1f %12.2f %12.1f %14.2f" % (profile, runtime, rates[(profile, runtime, 1)],
                  rates[(profile, runtime, 1)] / rates[(profile, "crun", 1)], rates[(profile, runtime, 8)],
                  rates[(profile, runtime, 8)] / rates[(profile, "crun", 8)]))

# Handlers (issue 14): a wasm container (`run.oci.handler=wasm`, the module as its process) from
# create to exit against the same module under `spectrum run --tier wasm`: what the OCI path and
# the container around the engine add. Then 64 wasm containers with 8 in parallel.
wasm_root = os.path.join(tmp, "wasm-rootfs")
os.mkdir(wasm_root)
module = os.path.join(wasm_root, "hello.wasm")
subprocess.run(["clang-16", "--target=wasm32-wasi", "-O2", "-o", module,
                os.path.join(repo, "tests/container/wasm/hello.c")], check=True)
wasm_bundle = make_bundle("wasm", False)
path = os.path.join(wasm_bundle, "config.json")
config = json.load(open(path))
config["process"]["args"] = ["/hello.wasm", "exit", "0"]
config["root"]["path"] = wasm_root
config["annotations"] = {"run.oci.handler": "wasm"}
json.dump(config, open(path, "w"))
print("\n== hello-world wasm: create-to-exit of a wasm container vs the wasm tier (%d rounds; ratios to the first)" % rounds, flush=True)
subprocess.run([compare, "--rounds", str(rounds), "--warmup", "2",
                "wasm-tier=%s run --tier wasm -- %s exit 0" % (spectrum, module),
                "wasm-container=%s --root %s/state-wasm run --bundle %s wasm-lat" % (spectrum, tmp, wasm_bundle),
                "container-true=%s --root %s/state-spectrum run --bundle %s true-lat" % (spectrum, tmp, bundles["plain"])],
               check=True)
runtimes["spectrum-wasm"] = [spectrum]
serial = throughput("spectrum-wasm", wasm_bundle, 100, 1)
parallel = throughput("spectrum-wasm", wasm_bundle, 64, 8)
print("wasm containers per second: %.1f back to back, %.1f with 8 in parallel (container /bin/true: %.1f, %.1f)" % (
    serial, parallel, rates[("plain", "spectrum", 1)], rates[("plain", "spectrum", 8)]))

# The vm handler: a /bin/true vm container (busybox's static `true` as the guest program) against
# the same program under `spectrum run --tier vm` and a /bin/true container. Where /dev/kvm is.
if not os.path.exists("/dev/kvm"):
    print("\n(vm handler: /dev/kvm is absent, not measured)")
    sys.exit(0)
vm_bundle = make_bundle("vm", False)
path = os.path.join(vm_bundle, "config.json")
config = json.load(open(path))
config["process"]["args"] = ["/bin/busybox", "true"]
config["annotations"] = {"run.oci.handler": "vm"}
json.dump(config, open(path, "w"))
print("\n== /bin/true in a VM: create-to-exit of a vm container vs the vm tier and a container (%d rounds; ratios to the first)" % rounds, flush=True)
subprocess.run([compare, "--rounds", str(rounds), "--warmup", "2",
                "vm-tier=%s run --tier vm --rootfs %s -- /bin/busybox true" % (spectrum, rootfs),
                "vm-container=%s --root %s/state-vm run --bundle %s vm-lat" % (spectrum, tmp, vm_bundle),
                "container-true=%s --root %s/state-spectrum run --bundle %s true-lat" % (spectrum, tmp, bundles["plain"])],
               check=True)
runtimes["spectrum-vm"] = [spectrum]
serial = throughput("spectrum-vm", vm_bundle, 100, 1)
parallel = throughput("spectrum-vm", vm_bundle, 64, 8)
print("vm containers per second: %.1f back to back, %.1f with 8 in parallel (container /bin/true: %.1f, %.1f)" % (
    serial, parallel, rates[("plain", "spectrum", 1)], rates[("plain", "spectrum", 8)]))
