#!/usr/bin/env bash
# The test suite under load: clones the current HEAD into a temp dir, starts
# CPU burners (node -e 'for(;;){}'), and runs `npm install --no-audit --no-fund
# && npm test` there several times back to back. Prints each run's closing
# summary line ("lockstep: N passed, N failed, N skipped") and exit code, and
# exits non-zero if any run failed. About 30 minutes on a 2-core machine.
#
#   npm run stress-test                 # 3 runs, 2 burners
#   STRESS_RUNS=0 npm run stress-test   # dry: clone, start and stop the burners, run nothing
#
# Environment: STRESS_RUNS (3), STRESS_BURNERS (2), STRESS_KEEP=1 keeps the
# clone and the run logs (they are removed otherwise, unless a run failed),
# STRESS_DIR (a parent dir for the clone, default $TMPDIR or /tmp).
# Only committed work is tested: the clone has HEAD, not the working tree.
set -euo pipefail

runs="${STRESS_RUNS:-3}"
burners="${STRESS_BURNERS:-2}"
case "$runs" in '' | *[!0-9]*) echo "STRESS_RUNS must be a whole number, not '$runs'" >&2; exit 2 ;; esac
case "$burners" in '' | *[!0-9]*) echo "STRESS_BURNERS must be a whole number, not '$burners'" >&2; exit 2 ;; esac

repo="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
sha="$(git -C "$repo" rev-parse HEAD)"
work="$(mktemp -d "${STRESS_DIR:-${TMPDIR:-/tmp}}/lockstep-stress-XXXXXX")"
burner_pids=()
failed=0

cleanup() {
  local pid
  for pid in "${burner_pids[@]+"${burner_pids[@]}"}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${burner_pids[@]+"${burner_pids[@]}"}"; do
    wait "$pid" 2>/dev/null || true
  done
  burner_pids=()
  if [ "${STRESS_KEEP:-0}" = 1 ] || [ "$failed" -ne 0 ]; then
    echo "stress-test: kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "stress-test: cloning $repo at ${sha:0:12} into $work/repo"
git clone --quiet --no-hardlinks "$repo" "$work/repo"
git -C "$work/repo" checkout --quiet --detach "$sha"

# Settings of the caller's shell that would change what the suite does.
unset LOCKSTEP_E2E_TEMPLATE LOCKSTEP_E2E_ROOT LOCKSTEP_E2E_KEEP LOCKSTEP_E2E_DEBUG LOCKSTEP_LOCK_DIR

for _ in $(seq 1 "$burners"); do
  node -e 'for (;;) {}' &
  burner_pids+=("$!")
done
echo "stress-test: $burners CPU burners running (pids ${burner_pids[*]:-none}) on $(nproc) cores; $runs runs"

summaries=()
for run in $(seq 1 "$runs"); do
  log="$work/run-$run.log"
  started=$(date +%s)
  set +e
  (cd "$work/repo" && npm install --no-audit --no-fund && npm test) >"$log" 2>&1
  code=$?
  set -e
  seconds=$(($(date +%s) - started))
  summary="$(grep -E '^lockstep: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -n 1 || true)"
  [ -n "$summary" ] || summary="(no closing summary line; see $log)"
  [ "$code" -eq 0 ] || failed=$((failed + 1))
  line="run $run/$runs: exit $code after ${seconds}s; $summary"
  summaries+=("$line")
  echo "stress-test: $line"
  if [ "$code" -ne 0 ]; then
    echo "stress-test: the end of $log:"
    tail -n 60 "$log" | sed 's/^/    /'
  fi
done

echo
echo "stress-test: ${sha:0:12}, $runs runs with $burners CPU burners on $(nproc) cores:"
for line in "${summaries[@]+"${summaries[@]}"}"; do echo "  $line"; done
if [ "$failed" -ne 0 ]; then
  echo "stress-test: $failed of $runs runs failed"
  exit 1
fi
echo "stress-test: all $runs runs passed"
