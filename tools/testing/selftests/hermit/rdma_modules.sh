#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Hermit RDMA client and server built as modules, on a node booted with
# the kernel of config-modules (the .ko files in /run/hermit/modules):
#   rdma_modules.sh load MODULE [PARAM=VALUE...]
#                                   insmod, check it is live and its debugfs
#                                   directory is there
#   rdma_modules.sh busy MODULE     rmmod must be refused (in use); the
#                                   module stays live
#   rdma_modules.sh unload MODULE [SECS]
#                                   rmmod must succeed (retried for SECS,
#                                   default 20, while the module is in use);
#                                   its debugfs files must be gone
#   rdma_modules.sh leaks clear|check
#                                   forget every allocation so far, or scan:
#                                   fail on a new leak from Hermit's code
# Beside this script (kselftest), else where the test cluster puts it.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

MODDIR=/run/hermit/modules
H=/sys/kernel/debug/hermit
K=/sys/kernel/debug/kmemleak

# The debugfs directory a module creates.
moddir() {
	case $1 in
	hermit_rdma) echo $H/rdma ;;
	hermit_server) echo $H/server ;;
	*) fail "unknown module '$1' (hermit_rdma, hermit_server)" ;;
	esac
}

live() {
	[ "$(cat /sys/module/"$1"/initstate 2>/dev/null)" = live ]
}

refs() {
	cat /sys/module/"$1"/refcnt 2>/dev/null
}

case ${1:-} in
load)
	m=$2
	shift 2
	d=$(moddir "$m")
	live "$m" && fail "$m is already loaded"
	insmod "$MODDIR/$m.ko" "$@" || fail "insmod $m $*"
	live "$m" || fail "$m is not live after insmod"
	[ -d "$d" ] || fail "no $d after loading $m"
	echo "$m loaded ($*), refcnt $(refs "$m")"
	;;
busy)
	out=$(rmmod "$2" 2>&1) && fail "rmmod $2 succeeded while in use"
	echo "$out" | grep -q "in use" || fail "rmmod $2 failed, but not as in use: $out"
	live "$2" || fail "$2 is not live after the refused rmmod"
	[ -d "$(moddir "$2")" ] || fail "$(moddir "$2") is gone after the refused rmmod"
	echo "rmmod $2 refused: $out (refcnt $(refs "$2"))"
	;;
unload)
	d=$(moddir "$2")
	for i in $(seq "${3:-20}"); do
		out=$(rmmod "$2" 2>&1) && break
		echo "$out" | grep -q "in use" || fail "rmmod $2: $out"
		sleep 1
	done
	[ -d /sys/module/"$2" ] && fail "$2 still loaded: $out (refcnt $(refs "$2"))"
	[ -e "$d" ] && fail "$d is still there after rmmod"
	if [ "$2" = hermit_rdma ]; then
		last=$(dmesg | grep "backend rdma " | tail -1)
		echo "$last" | grep -q "backend rdma unregistered" ||
			fail "backend rdma not unregistered: $last"
	fi
	echo "$2 unloaded"
	;;
leaks)
	[ -e $K ] || fail "no $K: kernel without CONFIG_DEBUG_KMEMLEAK"
	case ${2:-} in
	clear)
		echo clear >$K || fail "cannot clear kmemleak"
		;;
	check)
		# An object is reported once it is 5 s old and unreferenced
		# in two scans.
		sleep 6
		echo scan >$K
		echo scan >$K
		all=$(cat $K)
		# The code of an unloaded module prints as a bare address in
		# the module area.
		ours=$(echo "$all" | awk '/^unreferenced object/ { if (o) print b; b = ""; o = 0 }
			{ b = b $0 "\\n" }
			/hermit|hrc_|hsrv_|\[<ffffffffc|0xffffffffc/ { o = 1 }
			END { if (o) print b }')
		n=$(echo "$all" | grep -c "^unreferenced object")
		[ -z "$ours" ] || fail "kmemleak: Hermit leaked: $(echo -e "$ours" | head -40)"
		echo "kmemleak: no leak from Hermit ($n unreferenced objects elsewhere)"
		[ "$n" -gt 0 ] && echo "$all" | head -20 >&2
		true
		;;
	*) fail "usage: rdma_modules.sh leaks clear|check" ;;
	esac
	;;
*)
	fail "usage: rdma_modules.sh load MODULE [PARAM=VALUE...] | busy MODULE | unload MODULE [SECS] | leaks clear|check"
	;;
esac
