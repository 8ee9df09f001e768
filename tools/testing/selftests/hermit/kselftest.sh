#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In the test cluster, run the kselftest tree that 'make -C
# tools/testing/selftests TARGETS=hermit install' made (shared as
# /run/hermit/ksft) the way a real machine would: run_kselftest.sh with
# HERMIT_SWAPDEV only (the RDMA test must skip), then the RDMA test with
# HERMIT_SERVER set to the memory node (it must pass).
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

cd /run/hermit/ksft || fail "no /run/hermit/ksft"
# MIB=16: the suite's clock; the tests' defaults (64, 32) are for a real
# machine.
out=$(env -u HERMIT_SERVER HERMIT_SWAPDEV=/dev/vdb MIB=16 ./run_kselftest.sh 2>&1)
echo "$out" | sed 's/^/# /'
for want in "ok 1 selftests: hermit: hermit_present.sh" \
	"ok 2 selftests: hermit: hermit_local.sh" \
	"ok 3 selftests: hermit: hermit_rdma.sh # SKIP"; do
	echo "$out" | grep -qx "$want" || fail "no line '$want'"
done
echo "$out" | grep -q "^# # hermit stored [1-9][0-9]* pages, disk pswpout 0 pages" ||
	fail "hermit_local.sh did not print what it stored"
out=$(HERMIT_SWAPDEV=/dev/vdb HERMIT_SERVER=$HERMIT_IP_MEMORY MIB=16 \
	./run_kselftest.sh -t hermit:hermit_rdma.sh 2>&1)
echo "$out" | sed 's/^/# /'
echo "$out" | grep -qx "ok 1 selftests: hermit: hermit_rdma.sh" ||
	fail "hermit_rdma.sh did not pass with HERMIT_SERVER=$HERMIT_IP_MEMORY"
w=$(echo "$out" | sed -n 's/.*result: \([0-9]*\) pages written to the server.*/\1/p')
echo "result: run_kselftest.sh: hermit_present and hermit_local passed, hermit_rdma skipped without HERMIT_SERVER, passed with it (${w:-?} pages written to the server)"
