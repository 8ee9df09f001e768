#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) and print the path of the test cluster's root file system:
# Debian bookworm from debootstrap plus the guest side of the cluster tool.
#
# The debootstrap tree is cached by its package list and the ext4 image by
# that and the guest files, under $HERMIT_CACHE (default ~/.cache/hermit),
# so CI runs and later sessions reuse them. The mirror is the one this
# machine's apt already uses (or HERMIT_MIRROR).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${HERMIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hermit}
SUITE=bookworm
PACKAGES=python3,cgroup-tools,util-linux,procps,time,iproute2,rdma-core,ibverbs-utils,ibverbs-providers,rdmacm-utils,perftest,stress-ng,kmod,iputils-ping,redis-server,memcached
IMAGE_SIZE=2G

die() {
	echo "mkrootfs.sh: error: $*" >&2
	exit 1
}

# The first mirror in this machine's apt sources that serves $SUITE, in
# either the deb822 (.sources) or the one-line (.list) format.
apt_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$SUITE" 'BEGIN { RS = "" }
			{
				uri = ""; ok = 0; deb = 0
				n = split($0, l, "\n")
				for (i = 1; i <= n; i++) {
					split(l[i], w, /[ \t]+/)
					if (w[1] == "Types:" && l[i] ~ /[ \t]deb([ \t]|$)/) deb = 1
					if (w[1] == "URIs:") uri = w[2]
					if (w[1] == "Suites:")
						for (j = 2; j in w; j++) if (w[j] == suite) ok = 1
				}
				if (deb && ok && uri != "") print uri
			}' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -e 's/\[[^]]*\]//' |
		awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2 }' || true
}

tree_key=$(echo "$SUITE $PACKAGES" | sha256sum | cut -c1-12)
guest_key=$(cd "$HERE/guest" && cat $(ls) | sha256sum | cut -c1-12)
tree=$CACHE/debootstrap-$tree_key
image=$CACHE/rootfs-$tree_key-$guest_key.ext4

if [ -f "$image" ]; then
	echo "$image"
	exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
[ -f "$image" ] && { echo "$image"; exit 0; }

if [ ! -f "$tree/.complete" ]; then
	[ "$(id -u)" -eq 0 ] || die "debootstrap needs root to build $tree; run: sudo ./build_kernel.sh test"
	command -v debootstrap >/dev/null || die "debootstrap is not installed; run: ./build_kernel.sh deps"
	mirror=${HERMIT_MIRROR:-$(apt_mirror | head -n 1)}
	[ -n "$mirror" ] || die "no $SUITE mirror in this machine's apt sources; set HERMIT_MIRROR"
	echo "mkrootfs.sh: debootstrap $SUITE into $tree" >&2
	rm -rf "$tree"
	debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$tree" "$mirror" \
		>"$CACHE/debootstrap.log" 2>&1 ||
		die "debootstrap failed; see $CACHE/debootstrap.log"
	rm -rf "$tree/var/cache/apt/archives/"*.deb "$tree/var/lib/apt/lists/"*
	touch "$tree/.complete"
fi

# Stage with hard links: files we add are new, files we change are replaced
# (never written through a link), so the cached tree stays pristine.
stage=$CACHE/stage.$$
trap 'rm -rf "$stage" "$image.tmp"' EXIT
cp -al "$tree" "$stage"
rm -f "$stage/.complete"
install -m 0755 "$HERE/guest/hermit-init" "$stage/sbin/hermit-init"
install -m 0755 "$HERE/guest/hermit-agent" "$stage/usr/local/sbin/hermit-agent"
rm -f "$stage/etc/hostname" "$stage/etc/fstab"
echo hermit >"$stage/etc/hostname"
printf '# root is mounted by the kernel; see /sbin/hermit-init\n' >"$stage/etc/fstab"
mkdir -p "$stage/run/hermit" "$stage/hermit"
mkfs.ext4 -q -F -L hermit-root -E root_owner=0:0 -d "$stage" "$image.tmp" "$IMAGE_SIZE" >&2 ||
	die "mkfs.ext4 failed"
mv "$image.tmp" "$image"
# Older images of this cache are stale now.
for old in "$CACHE"/rootfs-*.ext4; do
	[ "$old" = "$image" ] || rm -f "$old"
done
echo "$image"
