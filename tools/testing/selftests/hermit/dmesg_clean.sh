#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The kernel log holds no warning, BUG, KASAN, lockdep or hung-task report.
# Beside this script (kselftest), else where the test cluster puts it.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

pat='WARNING:|BUG:|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|INFO: task .* blocked|Oops|Kernel panic|general protection fault|list_(add|del) corruption|RCU stall|soft lockup'
# "traps: PROG[pid] general protection fault ... in lib.so" is a user-space
# crash (perftest's has been seen), not a kernel report.
if dmesg | grep -v ' traps: ' | grep -E "$pat"; then
	dmesg | grep -v ' traps: ' | grep -E -A 20 "$pat" | head -n 80 >&2
	fail "kernel log has reports"
fi
echo "ok"
