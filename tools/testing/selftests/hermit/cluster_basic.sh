#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The node runs the expected kernel, and soft-RoCE is up with a 4096 MTU.
# Beside this script (kselftest), else where the test cluster puts it.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

want=${1:?expected kernel release}
got=$(uname -r)
[ "$got" = "$want" ] || fail "uname -r is $got, expected $want"
echo "kernel $got"
link=$(rdma link show rxe0/1 2>&1) || fail "no rxe0: $link"
echo "$link"
echo "$link" | grep -q "state ACTIVE" || fail "rxe0 is not ACTIVE"
# The cluster's links carry jumbo frames: one RoCE packet per page.
mtu=$(ibv_devinfo -d rxe0 | awk '$1 == "active_mtu:" { print $2 }')
[ "$mtu" = 4096 ] || fail "rxe0's active MTU is '$mtu', expected 4096"
ping -c 2 -W 5 "${2:?peer address}" >/dev/null || fail "cannot ping $2"
echo "ok"
