#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kselftest: Hermit over RDMA to the memory server HERMIT_SERVER (IP[:PORT],
# a machine booted into Hermit with 'echo 0.0.0.0 >
# /sys/kernel/debug/hermit/server/listen'), with the spare swap device
# HERMIT_SWAPDEV: connects, and a workload 4x over its cgroup's limit swaps
# to the server, every page verified. Skipped without both variables.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
[ -d /sys/kernel/debug/hermit/rdma ] || skip "no Hermit RDMA client (modprobe hermit_rdma?)"
[ -n "${HERMIT_SERVER:-}" ] || skip "set HERMIT_SERVER to a Hermit memory server's IP[:PORT]"
[ -n "${HERMIT_SWAPDEV:-}" ] ||
	skip "set HERMIT_SWAPDEV to a spare swap device (its contents are destroyed)"
[ -b "$HERMIT_SWAPDEV" ] || fail "HERMIT_SWAPDEV=$HERMIT_SWAPDEV is not a block device"
for step in "connect $HERMIT_SERVER" "store ${MIB:-32}"; do
	echo "# rdma_client.sh $step"
	# shellcheck disable=SC2086
	SWAPDEV=$HERMIT_SWAPDEV "$SELFTESTS/rdma_client.sh" $step | sed 's/^/# /'
	[ "${PIPESTATUS[0]}" = 0 ] || fail "rdma_client.sh $step failed"
done
echo "ok"
