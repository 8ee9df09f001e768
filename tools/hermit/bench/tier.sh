#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Swap tiers for the benchmarks' guest scripts (sourced, after the
# selftests' lib.sh; run_bench copies this directory to /run/hermit/bench):
#   tier_up MODE [SERVER]   all other swap off, Hermit off and its offloaded
#                           reclaim off; then MODE's swap area (512 MiB) on
#   tier_mark               start counting where pages go (tier_up does)
#   tier_where              where pages went since tier_mark: "stored N
#                           pswpout N store_failed N"
#   tier_down               MODE's swap area off, the knobs tier_up changed
#                           back as they were
# MODE: hermit-dram, hermit-rdma (to the Hermit memory server at SERVER;
# rdma_server.sh start there first), hermit-rdma-nomerge (the same with
# every folio its own RDMA transfer), nvmeof-rdma (the NVMe-oF/RDMA
# namespace SERVER exports; nvmeof_swap.sh export there first), zram-lz4,
# disk (the node's spare virtio disk).
H=/sys/kernel/debug/hermit

tier_up() {
	TIER=${1:?tier}
	TIER_DEV='' TIER_MERGE0='' TIER_FS0=$(cat $H/fs_enabled 2>/dev/null)
	swapoff -a 2>/dev/null
	echo 0 >$H/enabled
	[ -n "$TIER_FS0" ] && echo N >$H/fs_enabled
	case $TIER in
	hermit-dram | disk)
		TIER_DEV=/dev/vdb
		;;
	hermit-rdma | hermit-rdma-nomerge)
		TIER_DEV=/dev/vdb
		TIER_MERGE0=$(cat $H/rdma/merge)
		[ "$TIER" = hermit-rdma ] && echo 16 >$H/rdma/merge || echo 1 >$H/rdma/merge
		"$SELFTESTS/rdma_client.sh" connect "${2:?server}" >/dev/null ||
			fail "cannot connect to the Hermit server"
		;;
	nvmeof-rdma)
		TIER_DEV=$("$SELFTESTS/nvmeof_swap.sh" connect "${2:?server}") ||
			fail "cannot connect to the NVMe-oF target"
		;;
	zram-lz4)
		TIER_DEV=/dev/zram0
		echo 1 >/sys/block/zram0/reset
		echo lz4 >/sys/block/zram0/comp_algorithm || fail "no lz4 in zram"
		echo 1G >/sys/block/zram0/disksize
		;;
	*) fail "unknown tier $TIER" ;;
	esac
	# 512 MiB of swap area: as much as the NVMe-oF ramdisk, 8 chunks on a server.
	mkswap "$TIER_DEV" 524288 >/dev/null && swapon "$TIER_DEV" || fail "swapon $TIER_DEV"
	case $TIER in
	hermit-*)
		case $TIER in hermit-dram) echo dram ;; *) echo rdma ;; esac >$H/backend
		echo 1 >$H/enabled
		;;
	esac
	tier_mark
}

tier_mark() {
	TIER_STORED0=$(cat $H/stored) TIER_FAILED0=$(cat $H/store_failed)
	TIER_PSWPOUT0=$(vmstat pswpout)
}

tier_where() {
	echo "stored $(($(cat $H/stored) - TIER_STORED0))" \
		"pswpout $(($(vmstat pswpout) - TIER_PSWPOUT0))" \
		"store_failed $(($(cat $H/store_failed) - TIER_FAILED0))"
}

tier_down() {
	[ -n "$TIER_MERGE0" ] && echo "$TIER_MERGE0" >$H/rdma/merge
	swapoff "$TIER_DEV"
	echo 0 >$H/enabled
	[ "$TIER" = zram-lz4 ] && echo 1 >/sys/block/zram0/reset
	[ "$TIER" = nvmeof-rdma ] && "$SELFTESTS/nvmeof_swap.sh" disconnect
	[ -n "$TIER_FS0" ] && echo "$TIER_FS0" >$H/fs_enabled
	return 0
}
