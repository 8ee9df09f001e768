#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Swap tiers for the benchmarks' guest scripts (sourced, after the
# selftests' lib.sh; run_bench copies this directory to /run/hermit/bench):
#   tier_up MODE [SERVER]   all other swap off, Hermit off and its offloaded
#                           reclaim off; then MODE's swap area (512 MiB) on
#   tier_prefetch P         the swap readahead: vma (the kernel's VMA-based
#                           window), cluster (the swap-slot cluster), off,
#                           or for Hermit's tiers only trend and trend-async
#                           (hermit.prefetch=trend, its windows started by a
#                           worker with -async)
#   tier_prefetch_valid MODE P
#                           fail, changing nothing, when MODE cannot take
#                           the readahead P
#   tier_set FILE VALUE     write a knob that tier_down puts back
#   tier_where              where pages went since tier_up: "stored N
#                           pswpout N store_failed N [grants N servers_used
#                           N srv_writes_min N]" (with RDMA: grants, the
#                           chunks the memory servers granted; the servers
#                           written to, and the fewest pages written to one
#                           of them)
#   tier_down               MODE's swap area off, every knob tier_set (and so
#                           tier_up and tier_prefetch) wrote back as it was
# MODE: local (no swap at all), hermit-dram, hermit-rdma (to the Hermit
# memory server at SERVER; rdma_server.sh start there first),
# hermit-rdma-nomerge (the same with every folio its own RDMA transfer),
# hermit-rdma-noahead (the same with hermit.chunk_ahead=N: a store waits
# for its chunk's grant), hermit-rdma-r2 (SERVER a list of two servers,
# hermit.replicas=2: every page written to both),
# nvmeof-rdma (the NVMe-oF/RDMA namespace SERVER exports; nvmeof_swap.sh
# export there first), zram-lz4, disk (the node's spare virtio disk, or
# HERMIT_SWAPDEV: its first 512 MiB are overwritten).
H=/sys/kernel/debug/hermit
TIER_SWAPDEV=${HERMIT_SWAPDEV:-/dev/vdb}
TIER_SAVED=()

tier_set() {
	TIER_SAVED+=("$1" "$(cat "$1")")
	echo "$2" >"$1"
}

tier_up() {
	TIER=${1:?tier} TIER_DEV=''
	swapoff -a 2>/dev/null
	echo 0 >$H/enabled
	[ -e $H/fs_enabled ] && tier_set $H/fs_enabled N
	case $TIER in
	local) ;;
	hermit-dram | disk)
		TIER_DEV=$TIER_SWAPDEV
		;;
	hermit-rdma | hermit-rdma-nomerge | hermit-rdma-noahead | hermit-rdma-r2)
		TIER_DEV=$TIER_SWAPDEV
		[ "$TIER" = hermit-rdma-nomerge ] && tier_set $H/rdma/merge 1 || tier_set $H/rdma/merge 16
		[ "$TIER" = hermit-rdma-noahead ] && tier_set $H/chunk_ahead N || tier_set $H/chunk_ahead Y
		[ "$TIER" = hermit-rdma-r2 ] && tier_set $H/rdma/replicas 2 || tier_set $H/rdma/replicas 1
		# Connected by an earlier run: connecting again switches tracepoints
		# on and off, text patching that multi-threaded TCG now and then
		# trips over ("Oops: int3", seen killing a node in bench apps).
		# The same servers, all ready, or connect anew.
		[ "$(sort $H/connect 2>/dev/null)" = \
			"$(tr , '\n' <<<"${2:?server}" | sed '/:/!s/$/:50000/; s/$/ ready/' | sort)" ] ||
			"$SELFTESTS/rdma_client.sh" connect "$2" >/dev/null ||
			fail "cannot connect to the Hermit server"
		;;
	nvmeof-rdma)
		TIER_DEV=$("$SELFTESTS/nvmeof_swap.sh" connect "${2:?server}") ||
			fail "cannot connect to the NVMe-oF target"
		;;
	zram-lz4)
		TIER_DEV=/dev/zram0
		[ -e /sys/block/zram0 ] || modprobe zram num_devices=1 ||
			fail "no zram"
		echo 1 >/sys/block/zram0/reset
		echo lz4 >/sys/block/zram0/comp_algorithm || fail "no lz4 in zram"
		echo 1G >/sys/block/zram0/disksize
		;;
	*) fail "unknown tier $TIER" ;;
	esac
	if [ -n "$TIER_DEV" ]; then
		# 512 MiB of swap area: as much as the NVMe-oF ramdisk, 8 chunks on a server.
		mkswap "$TIER_DEV" 524288 >/dev/null && swapon "$TIER_DEV" ||
			fail "swapon $TIER_DEV"
	fi
	TIER_GRANTS0=$(tier_grants)
	case $TIER in
	hermit-*)
		local ahead i
		ahead=$(cat $H/chunks_ahead)
		case $TIER in hermit-dram) echo dram ;; *) echo rdma ;; esac >$H/backend
		echo 1 >$H/enabled
		# With chunk_ahead, the area's first chunk is being allocated:
		# the run starts once it is there, as it would on a node that
		# enabled Hermit long before.
		if [ "$(cat $H/chunk_ahead)" = Y ]; then
			for ((i = 0; i < 100; i++)); do
				[ "$(cat $H/chunks_ahead)" -gt "$ahead" ] && break
				sleep 0.1
			done
		fi
		;;
	esac
	TIER_STORED0=$(cat $H/stored) TIER_FAILED0=$(cat $H/store_failed)
	TIER_PSWPOUT0=$(vmstat pswpout)
	TIER_SRVW0=$(tier_srv_writes)
}

# "ADDR WRITES" of each memory server the client has.
tier_srv_writes() {
	awk '!/^#/ { print $1, $6 }' $H/rdma/servers 2>/dev/null
}

# Chunks the memory server granted this client so far (2 MiB each).
tier_grants() {
	awk '$1 == "grants" { print $2 }' $H/rdma/stats 2>/dev/null
}

tier_prefetch_valid() {
	case $2 in
	vma | cluster | off) ;;
	trend | trend-async)
		case $1 in hermit-*) ;; *) fail "prefetch $2 is Hermit's alone" ;; esac
		;;
	*) fail "prefetch must be vma, cluster, off, trend or trend-async" ;;
	esac
}

tier_prefetch() {
	local ra=true pc=3

	tier_prefetch_valid "$TIER" "$1"
	case $1 in
	cluster) ra=false ;;
	off) pc=0 ;;
	esac
	tier_set /proc/sys/vm/page-cluster $pc
	tier_set /sys/kernel/mm/swap/vma_ra_enabled $ra
	case $TIER in
	hermit-*)
		tier_set $H/prefetch "${1%-async}"
		case $1 in *-async) tier_set $H/prefetch_async Y ;; *) tier_set $H/prefetch_async N ;; esac
		;;
	esac
}

tier_where() {
	local srv=''

	case $TIER in
	hermit-rdma*)
		# Pages written to each server since tier_up (its copies).
		srv=$(tier_srv_writes | awk -v before="$TIER_SRVW0" '
			BEGIN { n = split(before, b, "\n")
				for (i = 1; i <= n; i++) { split(b[i], f, " "); w0[f[1]] = f[2] } }
			{ d = $2 - w0[$1]; if (d > 0) used++
			  if (min == "" || d < min) min = d }
			END { printf "servers_used %d srv_writes_min %d", used, min }')
		;;
	esac
	echo "stored $(($(cat $H/stored) - TIER_STORED0))" \
		"pswpout $(($(vmstat pswpout) - TIER_PSWPOUT0))" \
		"store_failed $(($(cat $H/store_failed) - TIER_FAILED0))" \
		"${TIER_GRANTS0:+grants $(($(tier_grants) - TIER_GRANTS0))}" $srv
}

tier_down() {
	local i

	[ -n "$TIER_DEV" ] && swapoff "$TIER_DEV"
	echo 0 >$H/enabled
	[ "$TIER" = zram-lz4 ] && echo 1 >/sys/block/zram0/reset
	[ "$TIER" = nvmeof-rdma ] && "$SELFTESTS/nvmeof_swap.sh" disconnect
	# Newest first, so a knob written twice gets its first value back.
	for ((i = ${#TIER_SAVED[@]} - 2; i >= 0; i -= 2)); do
		echo "${TIER_SAVED[i + 1]}" >"${TIER_SAVED[i]}"
	done
	TIER_SAVED=()
	return 0
}
