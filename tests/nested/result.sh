#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# result.sh RESULTS NAME      (the ctest nested/NAME, a mirror of NAME)
#
# Reports what NAME did in the nested tier's run (nested/run, whose
# results are in RESULTS): prints its output and exits 0 (passed), 77
# (skipped: its own reason is in the output) or 1 (failed, or no result).
set -u

[ $# -eq 2 ] || { echo "usage: $0 RESULTS NAME" >&2; exit 2; }
results=$1
name=$2
id=${name//\//__}

if [ -s "$results/unavailable" ]; then
	echo "SKIP: the nested tier cannot run here: $(cat "$results/unavailable")"
	exit 77
fi
if [ ! -s "$results/done" ]; then
	echo "FAIL: no finished nested run in $results (the test nested/run did not complete; see its output)"
	exit 1
fi
if [ ! -s "$results/$id.status" ]; then
	echo "FAIL: the nested run has no result for $name ($(cat "$results/done"))"
	exit 1
fi
cat "$results/$id.log"
status=$(cat "$results/$id.status")
case $status in
0 | 77) exit "$status" ;;
*) exit 1 ;;
esac
