#!/bin/bash
# scripts/gpu-carry and scripts/gpu-check end to end, without a GPU: the carried folder is built
# from this build tree, NVML is tests/engine/fake_nvml.c replaying the H200 trace
# (tests/data/gpu/h200-trace1-samples.csv), pynvml is tests/gpu_check/pynvml.py (ctypes on the
# same stand-in), and the torch loop is a shell command that moves the stand-in's clock from
# 4.5 s to 10.4 s of the trace. Expected figures are the trace's rows, worked out by hand:
#   t=4.4984 energy_mj 3498747, t=10.3942 energy_mj 7483951: 3985.204 J both around and inside
#   the run; another process on GPU 0 at 20 % SM beside the command's 80 %: a share of
#   3985.204 × 0.8 = 3188.163 J.
# Usage: test_gpu_check.sh SOURCE_DIR BUILD_DIR FAKE_NVML. Exit 77 (skipped) without python3 or
# in a sanitizer build.
set -uo pipefail
src=$1 build=$2 fake=$3
command -v python3 >/dev/null 2>&1 || { echo "no python3: skipped"; exit 77; }
# python (not instrumented) cannot load a stand-in built with -fsanitize=address (the asan preset).
# grep reads all of ldd's output: with pipefail, a grep -q that stops at the first match can
# leave ldd to die of SIGPIPE under load, which made the test run (and fail) on an ASan build.
if ldd "$fake" | grep libasan >/dev/null; then
  echo "the stand-in is an ASan build, which python cannot load: skipped"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
  echo "FAILED: $*"
  failures=$((failures + 1))
}

"$src/scripts/gpu-carry" "$build" "$tmp/carry" || { echo "FAILED: gpu-carry"; exit 1; }
[ -x "$tmp/carry/bin/pmcmodel" ] || fail "gpu-carry: no bin/pmcmodel"
[ -f "$tmp/carry/share/pmcmodel/gpus.csv" ] || fail "gpu-carry: no share/pmcmodel/gpus.csv"
for lib in $(ldd "$build/cli/pmcmodel" | awk '$2 == "=>" { print $1 }'); do
  case $lib in
    libc.so.* | libm.so.*) [ -e "$tmp/carry/lib/$lib" ] && fail "gpu-carry carried glibc's $lib" ;;
    *) [ -f "$tmp/carry/lib/$lib" ] || fail "gpu-carry left out $lib" ;;
  esac
done

# Runs gpu-check against the stand-in with the clock at 4.5 s; "$@": variables to add.
check() {
  local clock=$tmp/clock
  echo 4.5 >"$clock"
  env PYTHONPATH="$src/tests/gpu_check" PMCMODEL_NVML_LIBRARY="$fake" \
    PMC_FAKE_NVML_CLOCK="$clock" OUT="$tmp/out" "$@" \
    "$src/scripts/gpu-check" "$tmp/carry" 1 >"$tmp/stdout" 2>"$tmp/stderr"
}

check PMC_FAKE_NVML_OTHER_PID=$$ PMC_FAKE_NVML_CHILD_SM=80 \
  GPU_CHECK_STANDIN_LOOP="echo 10.4 > $tmp/clock; sleep 0.5"
rc=$?
cat "$tmp/stdout" "$tmp/stderr"
[ "$rc" -eq 0 ] || fail "gpu-check exit $rc, expected 0 (pass)"
python3 - "$tmp/out/gpu-check.json" <<'PYTHON' || failures=$((failures + 1))
import json, sys
r = json.load(open(sys.argv[1]))
expect = [("counter_before_mj", 3498747), ("counter_after_mj", 7483951),
          ("counter_outer_j", 3985.204), ("counter_inner_j", 3985.204),
          ("pmcmodel_j", 3985.204), ("ratio_to_outer", 1.0), ("command_j", 3188.1632)]
bad = [(k, r.get(k), v) for k, v in expect
       if r.get(k) is None or abs(r[k] - v) > 1e-6 * max(1.0, abs(v))]
for k, got, want in bad:
    print("FAILED: %s is %s, expected %s" % (k, got, want))
for k, want in [("pmcmodel_method", "measured:nvml"), ("command_method", "measured:nvml+share:sm-util"),
                ("verdict", "PASS")]:
    if r.get(k) != want:
        print("FAILED: %s is %r, expected %r" % (k, r.get(k), want))
        bad.append(k)
if (r.get("gpu") or {}).get("name") != "NVIDIA H200":
    print("FAILED: gpu is %r" % r.get("gpu"))
    bad.append("gpu")
sys.exit(1 if bad else 0)
PYTHON
grep -q "ratio pmcmodel/counter 1.0000" "$tmp/stdout" || fail "summary lacks the ratio 1.0000"
grep -q "command share: 3188.2 J (80.0% of gpu0)" "$tmp/stdout" || fail "summary lacks the share"
for f in out.json inner.json doctor.txt summary.txt gpu-check.json; do
  [ -s "$tmp/out/$f" ] || fail "no $f under OUT"
done
grep -q "driver 580.159.04" "$tmp/out/doctor.txt" || fail "doctor.txt does not show the stand-in's driver"

# A counter that goes back during the run (as after a driver reload) cannot agree: FAIL, exit 1.
rm -rf "$tmp/out"
check GPU_CHECK_STANDIN_LOOP="echo 2.0 > $tmp/clock"
rc=$?
[ "$rc" -eq 1 ] || fail "a counter going back: gpu-check exit $rc, expected 1"
grep -q "^FAIL: " "$tmp/stdout" || fail "a counter going back: no FAIL line"

# No energy counter for pynvml to read: the check cannot run, exit 2, and says why.
rm -rf "$tmp/out"
check PMC_FAKE_NVML_NO_ENERGY=1 GPU_CHECK_STANDIN_LOOP=true
rc=$?
[ "$rc" -eq 2 ] || fail "no energy counter: gpu-check exit $rc, expected 2"
grep -q "cannot read GPU 0's energy counter" "$tmp/stderr" || fail "no energy counter: no reason"

[ "$failures" -eq 0 ] && echo "gpu-check: all checks passed"
exit $((failures > 0))
