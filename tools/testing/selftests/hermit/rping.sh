#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rping over rdma_cm: 'rping.sh server' on one node, 'rping.sh client IP' on
# the other; the client verifies every payload it gets back.
# Beside this script (kselftest), else where the test cluster puts it.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

case ${1:-} in
server)
	exec rping -s -a "$HERMIT_IP" -C 20 -S 4096 -v
	;;
client)
	sleep 2
	for try in 1 2 3 4 5 6 7 8 9 10; do
		out=$(timeout 60 rping -c -a "${2:?server address}" -C 20 -S 4096 -v -V 2>&1) && break
		sleep 1
	done
	echo "$out" | tail -n 3
	n=$(echo "$out" | grep -c "ping data")
	[ "$n" -eq 20 ] || fail "got $n of 20 verified pings (try $try): $(echo "$out" | tail -n 2)"
	echo "ok: 20 pings verified"
	;;
*)
	fail "usage: rping.sh server | client IP"
	;;
esac
