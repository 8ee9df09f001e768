#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deb_install.sh KREL VERSION: in a node booted from the vmlinuz of the
# linux-image package of './build_kernel.sh deb', install the packages the
# host shared as /run/hermit/deb (linux-image and linux-headers) with
# dpkg -i, then check that the running kernel is the packaged one, that
# the package's modules load into it, and that the headers are there for
# building external modules.
HERE=$(dirname "$0")
[ -f "$HERE/lib.sh" ] || HERE=/run/hermit/selftests
. "$HERE/lib.sh"

krel=${1:?kernel release}
version=${2:?package version}
debs=/run/hermit/deb

[ "$(uname -r)" = "$krel" ] || fail "uname -r is $(uname -r), expected $krel"
# The build number of the packaged kernel is the package revision.
case $(uname -v) in
"#${version##*-} "*) ;;
*) fail "uname -v is '$(uname -v)': not the packaged kernel (revision ${version##*-})" ;;
esac

image=$(ls $debs/linux-image-"$krel"_"$version"_*.deb) || fail "no linux-image package"
headers=$(ls $debs/linux-headers-"$krel"_"$version"_*.deb) || fail "no linux-headers package"
out=$(dpkg -i "$image" "$headers" 2>&1) || fail "dpkg -i: $out"
echo "$out" | sed 's/^/# /'
for p in "linux-image-$krel" "linux-headers-$krel"; do
	st=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$p")
	[ "$st" = "installed $version" ] || fail "$p: dpkg says '$st'"
done

[ -f "/boot/vmlinuz-$krel" ] || fail "no /boot/vmlinuz-$krel"
[ -f "/lib/modules/$krel/modules.dep" ] || fail "no modules.dep: depmod did not run"
mod=$(find "/lib/modules/$krel" -name 'iw_cxgb4.ko*' | head -n 1)
[ -n "$mod" ] || fail "the package has no iw_cxgb4 module"
modprobe iw_cxgb4 || fail "modprobe iw_cxgb4 from the package failed"
grep -q "^iw_cxgb4 " /proc/modules || fail "iw_cxgb4 is not loaded"
grep -q "^cxgb4 " /proc/modules || fail "modprobe did not load the dependency cxgb4"
modprobe -r iw_cxgb4 cxgb4 || fail "modprobe -r iw_cxgb4 failed"

build=/lib/modules/$krel/build
for f in Makefile include/config/auto.conf Module.symvers include/linux/hermit.h \
	include/uapi/linux/hermit.h scripts/mod/modpost; do
	[ -e "$build/$f" ] || fail "headers: no $build/$f"
done
grep -qx "CONFIG_HERMIT=y" "$build/include/config/auto.conf" ||
	fail "headers: their configuration has no CONFIG_HERMIT=y"
echo "result: dpkg -i linux-image-$krel and linux-headers-$krel ($version) in a node booted from the packaged vmlinuz; iw_cxgb4 and cxgb4 loaded from the package and removed; headers for external modules present"
