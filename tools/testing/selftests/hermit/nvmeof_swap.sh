#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The baseline Hermit is compared against: Linux swap on NVMe over Fabrics
# (RDMA). On the memory node, 'nvmeof_swap.sh export' serves /dev/ram0 with
# nvmet-rdma ('unexport' removes it); on the compute node,
# 'nvmeof_swap.sh swap IP [MiB]' connects, swaps on the namespace and runs a
# verified workload in a memory cgroup limited to a quarter of it.
# 'nvmeof_swap.sh connect IP' only connects and prints the namespace's
# device; 'disconnect' removes the controller.
# Beside this script (kselftest), else where the test cluster puts it.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

NQN=hermit-nvmeof-baseline
CFG=/sys/kernel/config/nvmet
PORT=4420

export_ram() {
	local s=$CFG/subsystems/$NQN p=$CFG/ports/1
	[ -b /dev/ram0 ] || fail "no /dev/ram0 (boot with brd.rd_size=...)"
	[ -d $CFG ] || fail "no nvmet configfs at $CFG"
	mkdir -p "$s/namespaces/1" "$p"
	echo 1 >"$s/attr_allow_any_host"
	echo -n /dev/ram0 >"$s/namespaces/1/device_path"
	echo 1 >"$s/namespaces/1/enable"
	echo rdma >"$p/addr_trtype"
	echo ipv4 >"$p/addr_adrfam"
	echo "$HERMIT_IP" >"$p/addr_traddr"
	echo $PORT >"$p/addr_trsvcid"
	ln -sfn "$s" "$p/subsystems/$NQN"
	echo "ok: exporting /dev/ram0 ($(blockdev --getsize64 /dev/ram0) bytes) as $NQN on $HERMIT_IP:$PORT"
}

unexport_ram() {
	rm -f "$CFG/ports/1/subsystems/$NQN"
	rmdir "$CFG/ports/1" 2>/dev/null
	echo 0 >"$CFG/subsystems/$NQN/namespaces/1/enable" 2>/dev/null
	rmdir "$CFG/subsystems/$NQN/namespaces/1" "$CFG/subsystems/$NQN" 2>/dev/null
	echo "ok"
}

# Block devices of NVMe namespaces (not the hidden per-path ones).
nvme_disks() {
	ls /sys/block | grep -E '^nvme[0-9]+n[0-9]+$' | sort
}

# Connect to the memory node's target at $1; sets dev (/dev/nvmeXnY) and
# ctrl (nvmeX).
nvme_connect() {
	local old n
	old=$(nvme_disks)
	echo "transport=rdma,traddr=$1,trsvcid=$PORT,nqn=$NQN" >/dev/nvme-fabrics ||
		fail "cannot connect to $NQN at $1:$PORT"
	dev=""
	for n in $(seq 50); do
		dev=$(comm -13 <(echo "$old") <(nvme_disks) | head -n 1)
		[ -n "$dev" ] && break
		sleep 0.2
	done
	[ -n "$dev" ] || fail "no namespace appeared"
	for ctrl in /sys/class/nvme/nvme*; do
		[ "$(cat "$ctrl/subsysnqn" 2>/dev/null)" = $NQN ] && break
	done
	dev=/dev/$(basename "$dev")
	ctrl=$(basename "$ctrl")
}

nvme_disconnect() {
	local c
	for c in /sys/class/nvme/nvme*; do
		[ "$(cat "$c/subsysnqn" 2>/dev/null)" = $NQN ] && echo 1 >"$c/delete_controller"
	done
}

swap_run() {
	local ip=$1 mib=$2 dev ctrl before after rc
	nvme_connect "$ip"
	echo "swap device $dev ($(blockdev --getsize64 "$dev") bytes) on $ctrl"
	mkswap "$dev" >/dev/null || fail "mkswap $dev"
	swapon "$dev" || fail "swapon $dev"
	before=$(vmstat pswpout)
	run_in_memcg $((mib * 1024 * 1024 / 4)) \
		"$SELFTESTS/swap_workload" -s "$mib" -t 2 -p 2 -o mixed
	rc=$?
	after=$(vmstat pswpout)
	swapoff "$dev" || echo "swapoff $dev failed" >&2
	nvme_disconnect
	[ $rc -eq 0 ] || fail "workload failed (exit $rc)"
	echo "pswpout: $((after - before)) pages"
	# Three quarters of the working set cannot stay resident.
	[ $((after - before)) -ge $((mib * 256 * 3 / 4 / 2)) ] ||
		fail "only $((after - before)) pages swapped out"
	echo "ok"
}

case ${1:-} in
export) export_ram ;;
unexport) unexport_ram ;;
swap) swap_run "${2:?server address}" "${3:-96}" ;;
connect)
	nvme_connect "${2:?server address}"
	echo "$dev"
	;;
disconnect) nvme_disconnect ;;
*) fail "usage: nvmeof_swap.sh export | unexport | swap IP [MiB] | connect IP | disconnect" ;;
esac
