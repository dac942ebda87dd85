#!/usr/bin/env bash
# Runs cmocka test binaries (the Makefile's `check`), shows their output and
# closes with one plain line "N passed, N failed" summing the tests of every
# binary: that line is what CI reads.
#
# A binary that fails without a cmocka failure count — a crash, a sanitizer
# report, a leak found at exit, a timeout — counts as one failed test.
# TEST_TIMEOUT (seconds, default 600) bounds each binary.
set -u

passed=0 failed=0 skipped=0
broken=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() { # pattern -> the number on the last matching summary line, or 0
	local n
	n=$(sed -n "s/^\[  $1 *\] \([0-9][0-9]*\) test(s).*/\1/p" "$log" | tail -n 1)
	echo "${n:-0}"
}

for t in "$@"; do
	echo "== $t"
	timeout "${TEST_TIMEOUT:-600}" "$t" >"$log" 2>&1
	status=$?
	cat "$log"
	p=$(count PASSED) f=$(count FAILED) s=$(count SKIPPED)
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		broken+=("$t (exit status $status)")
	elif [ "$f" -ne 0 ]; then
		broken+=("$t ($f failed)")
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

for b in "${broken[@]}"; do
	echo "FAILED: $b"
done
if [ "$skipped" -ne 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
