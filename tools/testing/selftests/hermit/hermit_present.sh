#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The overlay is built into the booted kernel: mm/hermit initialised.
. /run/hermit/selftests/lib.sh

grep -qx "CONFIG_HERMIT=y" <(zcat /proc/config.gz) || fail "CONFIG_HERMIT is not y"
dmesg | grep -q "hermit: remote memory core initialised" ||
	fail "no init line from mm/hermit in dmesg"
[ -d /sys/kernel/debug/hermit ] || fail "no /sys/kernel/debug/hermit"
echo "ok"
