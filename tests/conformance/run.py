#!/usr/bin/env python3
"""The conformance runner: every case natively (the oracle) and in each tier, compared.

A case is a command inside the conformance root filesystem (tests/conformance/make-rootfs):
static/NAME, dynamic/NAME and musl/NAME run /c/static/NAME (gcc -static), /c/dynamic/NAME (glibc's
ld.so) or /c/musl/NAME (musl's ld-musl, dynamic); sh/NAME runs busybox's /bin/sh on /c/sh/NAME.sh;
bash/NAME runs Debian's `/bin/bash -c` with the script's text; python/NAME runs Debian's
/usr/bin/python3 on /c/py/NAME.py. Both sides get the same environment (ENV), stdin /dev/null.

The oracle is the host kernel with the same view of files: in a private mount namespace, the root
filesystem under a throw-away overlay, a fresh /proc and the host's /dev, then chroot. No part of
Spectrum is involved. A tier passes a case when stdout and the exit code (128+N for signal N) are
the oracle's. stderr is not compared (a tier may name an unsupported call there).

Without --check it prints a table and the pass count per tier. With --check it holds each tier's
outcomes to the expectations file: an expected pass that diverges fails, and so does an expected
failure that now passes (XPASS), so the file stays true; --update rewrites the file from what ran.
A tier that cannot run on this machine is skipped with the reason (exit 77 when all were).
"""
import argparse
import concurrent.futures
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

TIERS = ["container", "sandbox", "vm"]
ENV = {"PATH": "/bin:/usr/bin", "CONF_ENV": "yes", "LC_ALL": "C"}
SKIP = 77

# The oracle: private mounts, an overlay so the run cannot change the root filesystem, a fresh
# /proc, the host's /dev, chroot. Set-up errors exit 125 with a line starting "oracle:".
ORACLE = r"""
set -eu
work=$1 root=$2
shift 2
fail() { echo "oracle: $*" >&2; exit 125; }
chroot=$(command -v chroot) || fail "chroot is missing"
mkdir -p "$work/upper" "$work/work" "$work/view"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/work" "$work/view" ||
  fail "cannot mount an overlay of $root"
mount -t proc proc "$work/view/proc" || fail "cannot mount /proc"
mount --rbind /dev "$work/view/dev" || fail "cannot bind /dev"
exec env -i {env} "$chroot" "$work/view" "$@"
"""


class Outcome:
    def __init__(self, code, stdout, stderr, timed_out=False):
        self.code, self.stdout, self.stderr, self.timed_out = code, stdout, stderr, timed_out


def discover(rootfs):
    """Every case in the root filesystem, as (name, argv inside the root)."""
    cases = []
    for kind in ("static", "dynamic", "musl"):
        for name in sorted(os.listdir(os.path.join(rootfs, "c", kind))):
            cases.append((f"{kind}/{name}", [f"/c/{kind}/{name}"]))
    for name in sorted(os.listdir(os.path.join(rootfs, "c", "sh"))):
        cases.append((f"sh/{name[:-3]}", ["/bin/sh", f"/c/sh/{name}"]))
    for name in sorted(os.listdir(os.path.join(rootfs, "c", "bash"))):
        with open(os.path.join(rootfs, "c", "bash", name)) as f:
            cases.append((f"bash/{name[:-3]}", ["/bin/bash", "-c", f.read()]))
    for name in sorted(os.listdir(os.path.join(rootfs, "c", "py"))):
        cases.append((f"python/{name[:-3]}", ["/usr/bin/python3", f"/c/py/{name}"]))
    return cases


def execute(argv, timeout):
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return Outcome(None, e.stdout or b"", e.stderr or b"", timed_out=True)
    code = p.returncode if p.returncode >= 0 else 128 - p.returncode
    return Outcome(code, p.stdout, p.stderr)


def run_oracle(rootfs, work, argv, timeout):
    w = tempfile.mkdtemp(dir=work, prefix="oracle-")
    try:
        script = ORACLE.replace("{env}", " ".join(shlex.quote(f"{k}={v}") for k, v in ENV.items()))
        return execute(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "oracle", w,
                        rootfs] + argv, timeout)
    finally:
        # The mounts went with the namespace; the overlay's upper layer holds the run's files.
        shutil.rmtree(w, ignore_errors=True)


def run_tier(spectrum, tier, rootfs, argv, timeout):
    cmd = [spectrum, "run", "--tier", tier, "--rootfs", rootfs, "--timeout", f"{timeout}s", "--clear-env"]
    for k, v in ENV.items():
        cmd += ["--env", f"{k}={v}"]
    # A little longer than the tier's own timeout, so that its answer is the one seen.
    return execute(cmd + ["--"] + argv, timeout + 10)


def show(title, o):
    print(f"=== {title}: exit {'(timed out)' if o.timed_out else o.code}")
    sys.stdout.write(o.stdout.decode(errors="replace"))
    for line in o.stderr.decode(errors="replace").splitlines():
        print(f"stderr: {line}")


def verdict(oracle, got):
    """None when the tier matches the oracle, else a one-line reason."""
    if got.timed_out:
        return "did not finish"
    # What explains a wrong exit: Spectrum's or the program's first stderr line, or a CHECK's line.
    first_err = next((l for l in got.stderr.decode(errors="replace").splitlines() if l.strip()), "")
    first_err = first_err or next((l for l in got.stdout.decode(errors="replace").splitlines()
                                   if l.startswith("FAIL line")), "")
    if got.code != oracle.code:
        why = f"exit {got.code}, native {oracle.code}"
        return f"{why}: {first_err}" if first_err else why
    if got.stdout != oracle.stdout:
        ours = got.stdout.decode(errors="replace").splitlines()
        theirs = oracle.stdout.decode(errors="replace").splitlines()
        for i in range(max(len(ours), len(theirs))):
            a = ours[i] if i < len(ours) else "(no line)"
            b = theirs[i] if i < len(theirs) else "(no line)"
            if a != b:
                return f"stdout line {i + 1}: {a!r}, native {b!r}"
    return None


def tier_usable(spectrum, tier):
    """(usable, reason) from `spectrum info`."""
    info = subprocess.run([spectrum, "info"], capture_output=True, text=True).stdout
    for line in info.splitlines():
        m = re.match(rf"^{tier}\s+(.*)$", line)
        if m:
            state = m.group(1).strip()
            return state == "usable", state
    return False, "not listed by spectrum info"


def read_expectations(path):
    """{case: {tier: 'pass'|'fail'}}, {case: note}."""
    expected, notes = {}, {}
    if not os.path.exists(path):
        return expected, notes
    with open(path) as f:
        for number, line in enumerate(f, 1):
            body = line.rstrip()
            if not body.strip() or body.lstrip().startswith("#"):
                continue
            fields = body.split(None, 1 + len(TIERS))
            if len(fields) < 1 + len(TIERS) or any(v not in ("pass", "fail") for v in fields[1:1 + len(TIERS)]):
                sys.exit(f"{path}:{number}: expected 'CASE {' '.join(t.upper() for t in TIERS)} [NOTE]' with "
                         f"pass or fail per tier, got: {line.strip()}")
            expected[fields[0]] = dict(zip(TIERS, fields[1:1 + len(TIERS)]))
            if len(fields) > 1 + len(TIERS):
                notes[fields[0]] = fields[1 + len(TIERS)]
    return expected, notes


def split_note(note):
    """{tier: reason} from a note written as 'tier: reason; tier+tier: reason'."""
    names = "|".join(TIERS)
    parts = re.split(rf"(?:^|; )((?:{names})(?:\+(?:{names}))*): ", note)
    out = {}
    for i in range(1, len(parts) - 1, 2):
        for t in parts[i].split("+"):
            out[t] = parts[i + 1]
    return out


def short(reason):
    """A divergence as a note: without Spectrum's prefixes and the program's path, at most 110 chars."""
    if not reason:
        return reason
    reason = re.sub(r"spectrum: (error: )?(vm: )?(/[^ :]+: )?", "", reason)
    reason = reason.replace(" by the vm tier", "")
    reason = re.sub(r"dynamic executable \(interpreter [^)]*\) is not supported yet; link it with -static",
                    "dynamic executables (PT_INTERP) not supported yet", reason)
    return reason if len(reason) <= 110 else reason[:107] + "..."


def write_expectations(path, cases, results, expected, notes):
    lines = [
        "# The conformance suite's expected outcomes (tests/conformance/run.py --check holds every tier to",
        "# them). One line per case: pass or fail per tier, then why a tier fails. An expected pass that",
        "# diverges fails the test, and so does an expected failure that passes: rewrite this file with",
        "#   tests/conformance/run.py --rootfs build/tests/conformance/rootfs --update",
        "# (and explain each remaining failure in the note).",
        f"# {'case':<28}" + "".join(f"{t:<10}" for t in TIERS) + "why",
    ]
    for name, _ in cases:
        row = dict(expected.get(name, {t: "fail" for t in TIERS}))
        for tier, outcome in results.items():
            if name in outcome:
                row[tier] = "pass" if outcome[name] is None else "fail"
        # The note says per failing tier why: a reason already written (perhaps by hand) is kept
        # while that tier still fails; a tier that passes loses its reason; a new failure gets
        # the first line of its divergence.
        old = split_note(notes.get(name, ""))
        reasons = {}  # reason -> the tiers failing for it, so that a shared reason is written once
        for t in TIERS:
            if row[t] == "pass":
                continue
            fresh = results.get(t, {}).get(name)
            reasons.setdefault(old.get(t) or short(fresh) or "fails", []).append(t)
        parts = [f"{'+'.join(ts)}: {r}" for r, ts in reasons.items()]
        lines.append(f"{name:<30}" + "".join(f"{row[t]:<10}" for t in TIERS) + "; ".join(parts))
    with open(path, "w") as f:
        f.write("\n".join(l.rstrip() for l in lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--spectrum", default=os.path.join(here, "../../build/spectrum"))
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--expectations", default=os.path.join(here, "expectations"))
    ap.add_argument("--tier", action="append", choices=TIERS, help="a tier to run (default: all)")
    ap.add_argument("--only", help="run the cases whose name matches this regular expression")
    ap.add_argument("--check", action="store_true", help="hold the outcomes to the expectations file")
    ap.add_argument("--update", action="store_true", help="rewrite the expectations file from this run")
    ap.add_argument("--jobs", type=int, default=2)
    # Natively every case ends within ~2 s; a tier that hangs should not cost more than this.
    ap.add_argument("--timeout", type=int, default=10, help="seconds per run")
    ap.add_argument("--work", help="scratch folder (default: a temporary one)")
    ap.add_argument("--verbose", action="store_true", help="print the reason of every failure")
    ap.add_argument("--show", action="store_true", help="print every run's stdout and stderr")
    args = ap.parse_args()

    rootfs = os.path.abspath(args.rootfs)
    spectrum = os.path.abspath(args.spectrum)
    if not os.path.isdir(os.path.join(rootfs, "c")):
        sys.exit(f"conformance: {rootfs} is not the suite's root filesystem (build the conformance_rootfs target)")
    if not os.access(spectrum, os.X_OK):
        sys.exit(f"conformance: {spectrum} is not an executable spectrum binary")
    cases = all_cases = discover(rootfs)
    if args.only:
        cases = [c for c in cases if re.search(args.only, c[0])]
    if os.geteuid() != 0:
        # The oracle needs a mount namespace, an overlay and chroot; the container tier needs root too.
        print("conformance: skipped: the native oracle needs root (mount namespace, overlay, chroot)")
        return SKIP
    tiers = args.tier or TIERS
    if args.work:
        os.makedirs(args.work, exist_ok=True)
    work = tempfile.mkdtemp(dir=args.work, prefix="conformance-")

    usable, skipped = [], {}
    for tier in tiers:
        ok, reason = tier_usable(spectrum, tier)
        if ok:
            usable.append(tier)
        else:
            skipped[tier] = reason
            print(f"conformance: tier {tier} skipped: {reason}")
    if not usable:
        shutil.rmtree(work, ignore_errors=True)
        return SKIP

    expected, notes = read_expectations(args.expectations)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            oracle = dict(zip([c[0] for c in cases],
                              pool.map(lambda c: run_oracle(rootfs, work, c[1], args.timeout), cases)))
            # A program whose own check fails natively, or a script that does not exit 0 natively
            # (a python traceback, a missing applet), is a broken case, not a tier's divergence.
            broken = {n: o for n, o in oracle.items()
                      if o.timed_out or o.stderr.startswith(b"oracle:") or b"\nFAIL line" in b"\n" + o.stdout
                      or (n.split("/")[0] in ("sh", "bash", "python") and o.code != 0)}
            for name, o in broken.items():
                print(f"conformance: the native oracle itself fails {name}: "
                      f"{'timed out' if o.timed_out else (o.stderr or o.stdout).decode(errors='replace').strip()}")
            if broken:
                return 1
            jobs = [(t, c) for t in usable for c in cases]
            outcomes = pool.map(lambda j: (j, run_tier(spectrum, j[0], rootfs, j[1][1], args.timeout)), jobs)
            results = {t: {} for t in usable}
            for (tier, (name, _)), got in outcomes:
                results[tier][name] = verdict(oracle[name], got)
                if args.show:
                    show(f"{name} native", oracle[name])
                    show(f"{name} {tier}", got)
            # A divergence is checked against a second native run: if native itself gives another
            # answer, the program is at fault (output that is not deterministic), not the tier.
            argv_of = dict(cases)
            # With --check, only where a pass was expected (an expected failure needs no second look).
            diverged = sorted({n for t in usable for n, why in results[t].items() if why is not None
                               and (not args.check or expected.get(n, {}).get(t) != "fail")})
            again = dict(zip(diverged, pool.map(lambda n: run_oracle(rootfs, work, argv_of[n], args.timeout),
                                                diverged)))
            unstable = [n for n in diverged if verdict(oracle[n], again[n]) is not None]
            for name in unstable:
                print(f"conformance: {name} is not deterministic natively: two native runs differ: "
                      f"{verdict(oracle[name], again[name])}; fix the program")
            if unstable:
                return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)

    width = max(len(n) for n, _ in cases)
    print(f"{'case':<{width}}  {'native':>6}  " + "  ".join(f"{t:<9}" for t in usable))
    for name, _ in cases:
        cells = []
        for tier in usable:
            ok = results[tier][name] is None
            want = expected.get(name, {}).get(tier)
            if want is None:
                cell = "pass" if ok else "FAIL"
            elif ok:
                cell = "pass" if want == "pass" else "XPASS"
            else:
                cell = "xfail" if want == "fail" else "FAIL"
            cells.append(f"{cell:<9}")
        print(f"{name:<{width}}  {oracle[name].code:>6}  " + "  ".join(cells))
    for tier in usable:
        passed = sum(1 for v in results[tier].values() if v is None)
        print(f"conformance: {tier}: {passed}/{len(cases)} pass")
    for tier in skipped:
        print(f"conformance: {tier}: skipped ({skipped[tier]})")
    if args.verbose:
        for tier in usable:
            for name, why in results[tier].items():
                if why is not None:
                    print(f"  {tier} {name}: {why}")

    if args.update:
        # Every case keeps its line: those outside --only (or a tier not run) keep what they had.
        write_expectations(args.expectations, all_cases, results, expected, notes)
        print(f"conformance: {args.expectations} rewritten")
        return 0
    if not args.check:
        return 0
    problems = []
    for tier in usable:
        for name, _ in cases:
            want = expected.get(name, {}).get(tier)
            why = results[tier][name]
            if want is None:
                problems.append(f"{tier} {name}: no expectation in {args.expectations} (a new case?)")
            elif want == "pass" and why is not None:
                problems.append(f"{tier} {name}: expected to pass, diverges from native: {why}")
            elif want == "fail" and why is None:
                problems.append(f"{tier} {name}: expected to fail, now PASSES (XPASS): mark it pass")
    if problems:
        print(f"conformance: {len(problems)} unexpected outcome(s):")
        for p in problems:
            print(f"  {p}")
        print(f"conformance: if the change is intended, update {args.expectations}: run\n"
              f"  {sys.argv[0]} --rootfs {rootfs} --spectrum {spectrum} --update\n"
              f"and say in the note why each remaining failure fails.")
        return 1
    print("conformance: every outcome as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
