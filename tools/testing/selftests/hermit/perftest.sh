#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# perftest over rdma_cm: 'perftest.sh server TEST' on one node,
# 'perftest.sh client TEST IP' on the other (TEST: ib_write_bw, ib_read_lat).
. /run/hermit/selftests/lib.sh

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
case $role in
server)
	exec "$test" -R -d rxe0 -p 18515 "${opts[@]}"
	;;
client)
	# The server starts at the same time: give it a moment, and never let
	# one attempt hang (a client that raced the listener can).
	sleep 2
	for try in 1 2 3 4 5 6 7 8 9 10; do
		out=$(timeout 60 "$test" -R -d rxe0 -p 18515 "${opts[@]}" "${3:?server address}" 2>&1) && break
		sleep 1
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
