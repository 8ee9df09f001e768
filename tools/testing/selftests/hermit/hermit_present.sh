#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The overlay is built into the booted kernel: mm/hermit initialised.
# Beside this script (kselftest), else where the test cluster puts it.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (debugfs)"
if [ -f /proc/config.gz ]; then
	grep -qx "CONFIG_HERMIT=y" <(zcat /proc/config.gz) ||
		fail "not a Hermit kernel (CONFIG_HERMIT is not y)"
fi
# A machine up for long may have lost its boot messages: the cluster only.
if [ -f /run/hermit/cluster.env ]; then
	dmesg | grep -q "hermit: remote memory core initialised" ||
		fail "no init line from mm/hermit in dmesg"
fi
[ -d /sys/kernel/debug/hermit ] || fail "no /sys/kernel/debug/hermit"
echo "ok"
