#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# perftest over rdma_cm: 'perftest.sh server TEST' on one node,
# 'perftest.sh client TEST IP' on the other (TEST: ib_write_bw, ib_read_lat).
# Beside this script (kselftest), else where the test cluster puts it.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

role=${1:-}
test=${2:-}
# The columns of the result line worth a summary.
case $test in
ib_write_bw)
	opts=(-s 65536 -n 200)
	summary='{ printf "%s B x %s: average %s MB/s", $1, $2, $4 }'
	;;
ib_read_lat)
	opts=(-s 4096 -n 200)
	summary='{ printf "%s B: typical %s us, average %s us, 99%% %s us", $1, $5, $6, $8 }'
	;;
*) fail "usage: perftest.sh server|client ib_write_bw|ib_read_lat [IP]" ;;
esac
# One attempt of either side can hang on a connection the other side gave
# up on (under TCG a connect can take long enough): both sides retry, each
# attempt bounded, starting none after 130 s (the host allows 180).
case $role in
server)
	end=$((SECONDS + 130))
	while [ $SECONDS -lt $end ]; do
		timeout 45 "$test" -R -d rxe0 -p 18515 "${opts[@]}" && exit 0
		sleep 1
	done
	fail "$test server: no client completed a run"
	;;
client)
	# The server starts at the same time: give it a moment.
	sleep 2
	end=$((SECONDS + 130))
	try=0
	while [ $SECONDS -lt $end ]; do
		try=$((try + 1))
		out=$(timeout 40 "$test" -R -d rxe0 -p 18515 "${opts[@]}" "${3:?server address}" 2>&1) && break
		sleep 2
	done
	line=$(echo "$out" | grep -A 1 "#bytes" | tail -n 1)
	echo "$line" | grep -qE "^ *[0-9]+" ||
		fail "$test produced no result (try $try): $(echo "$out" | tail -n 3)"
	echo "result: $test $(echo "$line" | awk "$summary")"
	;;
*)
	fail "usage: perftest.sh server|client TEST [IP]"
	;;
esac
