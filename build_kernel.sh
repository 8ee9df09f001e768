#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# build_kernel.sh: assemble, build, install and test the Hermit kernel.
#
# The repository is an overlay on an upstream 6.12.y tree: this script takes
# the base (Debian's linux-source-6.12 by default, HERMIT_BASE otherwise),
# applies patches/series and copies the overlay in, all inside a git
# repository under build/, and builds out of tree from there.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${HERMIT_BUILD_DIR:-$TOP/build}
SRC=$BUILD/linux
SEED_CONFIG=$TOP/config-with-rdma-driver
# HERMIT_DEBUG=1: the same kernel plus config-debug (KASAN, lockdep, ...);
# HERMIT_MODULES=1: the same kernel plus config-modules (the RDMA client and
# server as modules, kmemleak). Each is built in its own object directory so
# that every build stays incremental.
# Both: config-debug and config-modules, in build/x86_64-debug-modules.
case ${HERMIT_DEBUG:-0}/${HERMIT_MODULES:-0} in
1/0)
	OBJ=$BUILD/x86_64-debug
	BUILD_LOG=$BUILD/build-debug.log
	CONFIG_FRAGMENTS=("$SEED_CONFIG" "$TOP/config-debug")
	;;
0/1)
	OBJ=$BUILD/x86_64-modules
	BUILD_LOG=$BUILD/build-modules.log
	CONFIG_FRAGMENTS=("$SEED_CONFIG" "$TOP/config-modules")
	;;
1/1)
	OBJ=$BUILD/x86_64-debug-modules
	BUILD_LOG=$BUILD/build-debug-modules.log
	CONFIG_FRAGMENTS=("$SEED_CONFIG" "$TOP/config-debug" "$TOP/config-modules")
	;;
0/0)
	OBJ=$BUILD/x86_64
	BUILD_LOG=$BUILD/build.log
	CONFIG_FRAGMENTS=("$SEED_CONFIG")
	;;
*)
	echo "build_kernel.sh: error: HERMIT_DEBUG and HERMIT_MODULES must be 0 or 1 (got '${HERMIT_DEBUG:-0}', '${HERMIT_MODULES:-0}')" >&2
	exit 2
	;;
esac
DEFAULT_BASE=/usr/src/linux-source-6.12.tar.xz
CACHE=${HERMIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hermit}
JOBS=${JOBS:-$(nproc)}

# Every package the build and the test cluster need, installed by 'deps'.
DEPS=(gcc binutils make flex bison bc libssl-dev libelf-dev dwarves cpio
	ccache git perl python3 xz-utils kmod rsync e2fsprogs socat
	linux-source-6.12 qemu-system-x86 debootstrap debian-archive-keyring
	rdma-core iproute2 ibverbs-utils rdmacm-utils perftest util-linux
	librdmacm-dev libibverbs-dev debhelper python3-matplotlib)

# Fixed identities so that commits in the assembled tree and ccache keys do
# not depend on who builds, where, or when.
export GIT_AUTHOR_NAME="Hermit build" GIT_AUTHOR_EMAIL="hermit@localhost"
export GIT_COMMITTER_NAME="Hermit build" GIT_COMMITTER_EMAIL="hermit@localhost"
export KBUILD_BUILD_USER=hermit KBUILD_BUILD_HOST=hermit
export CCACHE_BASEDIR=$BUILD CCACHE_NOHASHDIR=1

die() {
	echo "build_kernel.sh: error: $*" >&2
	exit 1
}

info() {
	echo "build_kernel.sh: $*" >&2
}

usage() {
	cat <<EOF
Usage: ./build_kernel.sh COMMAND [ARGS]

Commands:
  deps              install every build and test dependency (apt-get, root)
  build [--localconfig[=FILE]]
                    assemble the tree under build/ and build bzImage + modules;
                    --localconfig: with the configuration of this machine's
                    kernel (or FILE) merged with Hermit's, in
                    build/x86_64-local
  config [--localconfig[=FILE]]
                    the same up to the .config only, to look at or edit
  deb [--localconfig[=FILE]]
                    build, then Debian packages (bindeb-pkg: linux-image,
                    linux-headers, linux-libc-dev) in build/deb/
  install [--trial] [--localconfig]
                    modules_install, install the image, initramfs and grub
                    (root; DESTDIR, INSTALL_PATH, INSTALL_MOD_PATH stage it);
                    --trial: boot the new kernel once (grub-reboot), the
                    boot after it is the old default again
  replace [--trial] [--localconfig]
                    install the kernel image only, modules untouched (root)
  test              build what is missing, then run every test; ends with
                    'N passed, N failed' and exits non-zero on any failure
  vm up|down|status the QEMU test cluster (nodes: compute, memory; the
                    spare compute2 and mem2 are wired but not booted)
  vm start|stop NODE
                    boot or stop one node (not memory, the hub); start
                    mem2 before compute2 for their link
  vm shell NODE     serial console of NODE (Ctrl-] leaves)
  vm run NODE SCRIPT [ARGS...]
                    copy SCRIPT into NODE, run it as root, print its output
                    and exit with its exit code
  demo              build what is missing, boot the cluster and show it
  bench fault-latency [MiB [MODE,... [RUNS [max|high]]]]
                    fault latency and swap throughput: Hermit RDMA vs
                    NVMe-oF/RDMA vs Hermit DRAM vs zram vs swap disk
  bench prefetch [MiB [ORDER,... [PREFETCH,... [LOCAL%,... [TIER,... [RUNS [high|max]]]]]]]
                    swap-in of seq, stride and rand scans with readahead
                    off, cluster and vma: Hermit RDMA vs NVMe-oF/RDMA
  bench offload-reclaim [MiB [RUNS [BACKEND,... [MODE,... [HEADROOM]]]]]
                    runtime at 50% and 25% local memory, 1 and 2 threads,
                    DRAM and RDMA: fs_enabled N vs Y (and Y-noflush)
  bench apps [--quick] [--apps A,...] [--tiers T,...] [--fractions P,...] [--runs N]
                    sort and redis at 75/50/25% of their peak memory:
                    Hermit RDMA vs Fastswap mode vs NVMe-oF/RDMA vs zram
                    vs swap disk; table, CSV and plots in build/bench/apps
  bench rereplicate [MiB [RUNS]]
                    replicas=2, mem2 powered off and booted again: time to
                    reconnect and to copy every page back onto it
  tree              print the path of the assembled kernel tree
  clean             remove build/ (the rootfs cache in $CACHE stays)
  help, --help      this text

Environment:
  HERMIT_BASE       upstream source: a 6.12.y tarball or directory
                    (default: $DEFAULT_BASE)
  HERMIT_BUILD_DIR  where the tree and objects go (default: build/)
  HERMIT_CACHE      cache for the guest root file system (default: $CACHE)
  JOBS              parallel make jobs (default: nproc)
  HERMIT_DEBUG=1    build, test, boot the debug kernel (config-debug: KASAN,
                    lockdep, atomic-sleep and list checks) in build/x86_64-debug
  HERMIT_MODULES=1  build the kernel of config-modules (the RDMA client and
                    server as modules, kmemleak) in build/x86_64-modules (with
                    HERMIT_DEBUG=1: both, in build/x86_64-debug-modules); the
                    test suite builds it itself for its module test
  DESTDIR, INSTALL_PATH, INSTALL_MOD_PATH
                    staging for install/replace; with any of them set,
                    initramfs and grub are left alone
  GRUB_CFG          the grub.cfg install reads its menu entries from
                    (default: /boot/grub/grub.cfg)
  KDEB_COMPRESS     compression of the packages of 'deb' (dpkg-deb -Z:
                    xz, gzip, zstd, none; default: dpkg-deb's)
EOF
}

# Packages of DEPS that are not installed.
missing_deps() {
	local p
	for p in "${DEPS[@]}"; do
		dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null |
			grep -qx installed || echo "$p"
	done
}

cmd_deps() {
	local missing
	missing=$(missing_deps | tr '\n' ' ')
	if [ -z "$missing" ]; then
		info "all dependencies are installed"
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || die "missing packages: $missing
run as root: apt-get update && apt-get install -y $missing"
	info "installing: $missing"
	apt-get update -q
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
}

# Other commands call this: install what is missing when root, else explain.
ensure_deps() {
	local missing
	missing=$(missing_deps | tr '\n' ' ')
	[ -z "$missing" ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages: $missing
install them with: sudo apt-get update && sudo apt-get install -y $missing"
	cmd_deps
}

# Print "VERSION PATCHLEVEL SUBLEVEL EXTRAVERSION" of the kernel Makefile $1.
makefile_version() {
	awk -F' *= *' '
		$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 }
		$1 == "SUBLEVEL" { s = $2 } $1 == "EXTRAVERSION" { e = $2 }
		END { printf "%s %s %s %s\n", v, p, s, e }' "$1"
}

# Refuse anything that is not a 6.12.y release tree rooted at $1.
check_base_tree() {
	local dir=$1 what=$2 v p s e
	[ -f "$dir/Makefile" ] && [ -d "$dir/mm" ] && [ -d "$dir/arch/x86" ] ||
		die "$what is not a Linux source tree (no Makefile, mm/ or arch/x86/)"
	read -r v p s e < <(makefile_version "$dir/Makefile") || true
	[ "${v:-}" = 6 ] && [ "${p:-}" = 12 ] && [ -z "${e:-}" ] ||
		die "$what is Linux ${v:-?}.${p:-?}.${s:-?}${e:-}; Hermit needs a 6.12.y release (HERMIT_BASE)"
	echo "6.12.${s:-0}"
}

# The base source, and a string that changes whenever the base does.
resolve_base() {
	BASE=${HERMIT_BASE:-$DEFAULT_BASE}
	if [ ! -e "$BASE" ]; then
		[ -n "${HERMIT_BASE:-}" ] && die "HERMIT_BASE=$BASE does not exist"
		ensure_deps
		[ -e "$BASE" ] || die "$BASE is missing: install linux-source-6.12 or set HERMIT_BASE"
	fi
	BASE=$(realpath "$BASE")
	if [ -d "$BASE" ]; then
		BASE_ID="dir:$BASE:$(check_base_tree "$BASE" "HERMIT_BASE=$BASE")"
	elif [ -f "$BASE" ]; then
		BASE_ID="tar:$BASE:$(stat -c %s:%Y "$BASE")"
	else
		die "HERMIT_BASE=$BASE is neither a directory nor a tarball"
	fi
}

git_src() {
	git -C "$SRC" "$@"
}

# Unpack or copy the base into $SRC as the first commit, tagged 'base'.
import_base() {
	local tmp=$BUILD/.base-new top version
	rm -rf "$tmp"
	mkdir -p "$tmp"
	if [ -d "$BASE" ]; then
		info "copying base tree $BASE"
		rsync -a --exclude=.git "$BASE/" "$tmp/linux/"
	else
		info "unpacking $BASE"
		tar -xf "$BASE" -C "$tmp" || die "cannot unpack $BASE"
		top=$(find "$tmp" -mindepth 1 -maxdepth 1)
		[ "$(echo "$top" | wc -l)" = 1 ] && [ -d "$top" ] ||
			die "$BASE does not hold exactly one top-level directory"
		mv "$top" "$tmp/linux"
	fi
	version=$(check_base_tree "$tmp/linux" "HERMIT_BASE=$BASE") || {
		rm -rf "$tmp"
		exit 1
	}
	rm -rf "$SRC"
	mv "$tmp/linux" "$SRC"
	rmdir "$tmp"
	git_src init -q -b hermit
	git_src config core.autocrlf false
	git_src config gc.auto 0
	git_src add -A -f .
	GIT_AUTHOR_DATE="@0 +0000" GIT_COMMITTER_DATE="@0 +0000" \
		git_src commit -q --no-verify -m "Linux $version" -m "Base: $BASE"
	git_src tag -f base >/dev/null
	echo "$BASE_ID" >"$BUILD/base-id"
	info "imported Linux $version from $BASE"
}

# Files of the overlay: everything in the repository whose top-level
# directory is also a top-level directory of the kernel (mm/, include/, ...).
overlay_files() {
	local dirs
	dirs=$(git_src ls-tree --name-only -d base | paste -sd'|')
	git -C "$TOP" ls-files -co --exclude-standard -z |
		tr '\0' '\n' | grep -E "^($dirs)/" |
		while read -r f; do [ -f "$TOP/$f" ] && echo "$f"; done
}

# Commit the patch series and the overlay on top of 'base' without touching
# the work tree, then move the work tree there: git rewrites only the files
# whose content changed, so unchanged files keep their mtimes and the next
# make is incremental.
assemble() {
	local head series p info msg tree new files desc f bad
	resolve_base
	mkdir -p "$BUILD"
	if [ ! -d "$SRC/.git" ] || [ "$(cat "$BUILD/base-id" 2>/dev/null)" != "$BASE_ID" ]; then
		import_base
	fi
	if [ -n "$(git_src status --porcelain --untracked-files=no)" ]; then
		die "$SRC has local changes; the overlay lives in $TOP.
Move them there (or into a patch), or discard them: git -C $SRC reset --hard"
	fi

	files=$(overlay_files)
	desc=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo "working tree")
	export GIT_INDEX_FILE=$SRC/.git/hermit-index
	git_src read-tree base
	head=$(git_src rev-parse base)
	series=$TOP/patches/series
	info=$(mktemp -d)
	if [ -f "$series" ]; then
		while read -r p; do
			p=${p%%#*}
			p=$(echo "$p" | xargs)
			[ -n "$p" ] || continue
			[ -f "$TOP/patches/$p" ] || die "patches/series names $p, which does not exist"
			git mailinfo "$info/msg" "$info/diff" <"$TOP/patches/$p" >"$info/hdr"
			git_src apply --cached --whitespace=nowarn "$info/diff" ||
				die "patches/$p does not apply"
			msg=$(sed -n 's/^Subject: //p' "$info/hdr")
			[ -n "$msg" ] || msg=$p
			tree=$(git_src write-tree)
			head=$(printf '%s\n\n%s\n' "$msg" "$(cat "$info/msg")" |
				GIT_AUTHOR_DATE="@0 +0000" GIT_COMMITTER_DATE="@0 +0000" \
				git_src commit-tree "$tree" -p "$head")
		done <"$series"
	fi

	bad=""
	for f in $files; do
		git_src cat-file -e "base:$f" 2>/dev/null && bad="$bad $f"
	done
	[ -z "$bad" ] || die "overlay files replace upstream files (change those with a patch):$bad"
	if [ -n "$files" ]; then
		(cd "$TOP" && echo "$files" | while read -r f; do
			mode=100644
			[ -x "$f" ] && mode=100755
			printf '%s %s\t%s\n' "$mode" \
				"$(git --git-dir="$SRC/.git" hash-object -w -- "$f")" "$f"
		done) | git_src update-index --add --index-info
	fi
	tree=$(git_src write-tree)
	new=$(echo "hermit: overlay from $desc" |
		GIT_AUTHOR_DATE="@0 +0000" GIT_COMMITTER_DATE="@0 +0000" \
		git_src commit-tree "$tree" -p "$head")
	rm -rf "$info"
	unset GIT_INDEX_FILE
	git_src reset -q --hard "$new"
}

kmake() {
	make -C "$SRC" O="$OBJ" LOCALVERSION= "$@"
}

kernel_release() {
	kmake -s kernelrelease
}

# Options of build, config, deb, install and replace: --trial sets TRIAL;
# --localconfig[=FILE] switches to the local kernel (use_localconfig).
TRIAL=no
LOCAL=no
LOCAL_FILE=""
parse_options() {
	local cmd=$1 opt takes
	shift
	case $cmd in
	install | replace) takes="--trial, --localconfig" ;;
	*) takes="--localconfig[=FILE]" ;;
	esac
	for opt in "$@"; do
		case $cmd/$opt in
		install/--trial | replace/--trial) TRIAL=yes ;;
		*/--localconfig) use_localconfig ;;
		build/--localconfig=* | config/--localconfig=* | deb/--localconfig=*)
			use_localconfig
			LOCAL_FILE=${opt#--localconfig=}
			[ -n "$LOCAL_FILE" ] || die "--localconfig= needs a file name"
			;;
		*) die "unknown option '$opt' ($cmd takes $takes)" ;;
		esac
	done
}

# The local kernel: this machine's configuration (or another given one)
# merged with Hermit's, in an object directory of its own.
use_localconfig() {
	[ "${HERMIT_DEBUG:-0}/${HERMIT_MODULES:-0}" = 0/0 ] ||
		die "--localconfig does not go with HERMIT_DEBUG or HERMIT_MODULES"
	LOCAL=yes
	OBJ=$BUILD/x86_64-local
	BUILD_LOG=$BUILD/build-local.log
}

# Options the merged configuration turns on when the machine's has them
# off: Hermit cannot work without them (y, or m where the machine has m).
LOCAL_REQUIRED=(SWAP MEMCG INFINIBAND INFINIBAND_ADDR_TRANS)

# The configuration to merge: FILE, else the one merged last time, else
# the running kernel's. Prints its path.
local_source() {
	local src=$LOCAL_FILE
	if [ -z "$src" ] && [ -f "$OBJ/.hermit-local-source" ]; then
		src=$(cat "$OBJ/.hermit-local-source")
	fi
	if [ -z "$src" ]; then
		src=/boot/config-$(uname -r)
		[ -r "$src" ] || src=/proc/config.gz
		[ -r "$src" ] || die "--localconfig: found neither /boot/config-$(uname -r) nor /proc/config.gz; name a configuration with --localconfig=FILE"
	fi
	if [ ! -f "$src" ] || [ ! -r "$src" ]; then
		die "--localconfig: cannot read $src"
	fi
	realpath "$src"
}

# The running machine's configuration $1 merged with Hermit's seed: every
# option the machine's configuration sets (to y, m, a value or "is not
# set") keeps its value, so a server keeps its drivers and file systems;
# the seed fills in only the options it does not mention (it may be a
# fragment, or an older kernel's); the Hermit options and LOCALVERSION are
# the seed's, LOCAL_REQUIRED are on, and the certificate paths of
# distribution configurations (files only the distribution's own build
# has) are reset so the kernel makes its own module signing key. The
# seed's CONFIG_WERROR is not taken: the machine's drivers were not built
# with it here.
merge_local_config() {
	awk -v required="${LOCAL_REQUIRED[*]}" '
	function sym(line) {
		if (match(line, /^CONFIG_[A-Za-z0-9_]+=/))
			return substr(line, 8, RLENGTH - 8)
		if (match(line, /^# CONFIG_[A-Za-z0-9_]+ is not set$/))
			return substr(line, 10, RLENGTH - 20)
		return ""
	}
	function ours(s) {
		return s ~ /^HERMIT/ || s ~ /^LOCALVERSION/
	}
	BEGIN {
		nreq = split(required, req, " ")
		for (i = 1; i <= nreq; i++)
			isreq[req[i]] = 1
		nfix = split("SYSTEM_TRUSTED_KEYS SYSTEM_REVOCATION_KEYS MODULE_SIG_KEY", fix, " ")
		fixed["SYSTEM_TRUSTED_KEYS"] = "CONFIG_SYSTEM_TRUSTED_KEYS=\"\""
		fixed["SYSTEM_REVOCATION_KEYS"] = "CONFIG_SYSTEM_REVOCATION_KEYS=\"\""
		fixed["MODULE_SIG_KEY"] = "CONFIG_MODULE_SIG_KEY=\"certs/signing_key.pem\""
	}
	FNR == NR {
		s = sym($0)
		if (s != "" && s != "WERROR") {
			seed[s] = $0
			order[++nseed] = s
		}
		next
	}
	{
		s = sym($0)
		if (s == "") {
			print
			next
		}
		seen[s] = 1
		if (s in fixed)
			print fixed[s]
		else if (ours(s) && s in seed)
			print seed[s]
		else if (s in isreq && $0 !~ /=[ym]$/)
			print "CONFIG_" s "=y"
		else
			print
	}
	END {
		print "#"
		print "# Added by build_kernel.sh --localconfig from config-with-rdma-driver"
		print "#"
		for (i = 1; i <= nseed; i++)
			if (!(order[i] in seen))
				print seed[order[i]]
		for (i = 1; i <= nreq; i++)
			if (!(req[i] in seen) && !(req[i] in seed))
				print "CONFIG_" req[i] "=y"
		for (i = 1; i <= nfix; i++)
			if (!(fix[i] in seen))
				print fixed[fix[i]]
	}' "$SEED_CONFIG" "$1"
}

# The merged configuration of the local kernel, from local_source.
local_seed() {
	local src=$1
	case $src in
	*.gz) zcat "$src" ;;
	*) cat "$src" ;;
	esac >"$OBJ/.hermit-local-input"
	grep -qx "CONFIG_X86_64=y" "$OBJ/.hermit-local-input" ||
		die "--localconfig: $src is not the configuration of an x86_64 kernel (no CONFIG_X86_64=y)"
	merge_local_config "$OBJ/.hermit-local-input"
	rm -f "$OBJ/.hermit-local-input"
}

# After olddefconfig: Hermit must have survived the merge, or the build
# would make a kernel without it.
check_local_config() {
	local cfg=$OBJ/.config src=$1
	grep -qx "CONFIG_HERMIT=y" "$cfg" ||
		die "CONFIG_HERMIT is off in $cfg after merging $src: it needs SWAP and MMU"
	local opt
	for opt in HERMIT_RDMA_CLIENT HERMIT_RDMA_SERVER; do
		grep -Eqx "CONFIG_$opt=[ym]" "$cfg" ||
			die "CONFIG_$opt is off in $cfg after merging $src: it needs INFINIBAND_ADDR_TRANS, i.e. InfiniBand (NET, INET) with rdma_cm; turn those on in $src or in $cfg"
	done
	if grep -qx "CONFIG_HERMIT_RDMA_CLIENT=m" "$cfg"; then
		info "InfiniBand is modular in $src: Hermit's RDMA client and server are the modules hermit_rdma and hermit_server"
	fi
}

# Assemble the tree and make $OBJ/.config: from the seed config (plus
# config-debug or config-modules), or with --localconfig from the merge,
# when there is none and again whenever that input changed; a hand-edited
# .config is otherwise kept.
cmd_config() {
	local src=""
	ensure_deps
	assemble
	mkdir -p "$OBJ"
	if [ "$LOCAL" = yes ]; then
		src=$(local_source)
		local_seed "$src" >"$OBJ/.hermit-seed-config.new"
	else
		cat "${CONFIG_FRAGMENTS[@]}" >"$OBJ/.hermit-seed-config.new"
	fi
	if [ ! -f "$OBJ/.config" ] || ! cmp -s "$OBJ/.hermit-seed-config.new" "$OBJ/.hermit-seed-config"; then
		if [ -n "$src" ]; then
			info "seeding $OBJ/.config from $src merged with ${SEED_CONFIG##*/}"
		else
			info "seeding $OBJ/.config from ${CONFIG_FRAGMENTS[*]##*/}"
		fi
		cp "$OBJ/.hermit-seed-config.new" "$OBJ/.config"
		mv "$OBJ/.hermit-seed-config.new" "$OBJ/.hermit-seed-config"
	else
		rm -f "$OBJ/.hermit-seed-config.new"
	fi
	[ -z "$src" ] || echo "$src" >"$OBJ/.hermit-local-source"
	kmake -s olddefconfig
	[ -z "$src" ] || check_local_config "$src"
}

ccache_cc() {
	if command -v ccache >/dev/null; then
		echo "ccache gcc"
	else
		echo gcc
	fi
}

cmd_build() {
	local cc
	cmd_config
	cc=$(ccache_cc)
	kmake -j"$JOBS" CC="$cc" HOSTCC="$cc" bzImage modules
	info "kernel $(kernel_release): $OBJ/arch/x86/boot/bzImage"
}

# Debian packages with the kernel's bindeb-pkg, which builds what is not
# built yet; moved from build/ (where dpkg-buildpackage leaves them) to
# build/deb/OBJDIR/.
cmd_deb() {
	local cc dest log=$BUILD/deb-${OBJ##*/}.log f
	cmd_config
	cc=$(ccache_cc)
	dest=$BUILD/deb/${OBJ##*/}
	rm -rf "$dest"
	rm -f "$BUILD"/linux-*.deb "$BUILD"/linux-hermit_*
	mkdir -p "$dest"
	info "building and packaging (log: $log)"
	# terse: Kbuild's short lines; parallel: the jobs of our make.
	if ! KDEB_SOURCENAME=linux-hermit DEB_BUILD_OPTIONS="terse parallel=$JOBS" \
		run_with_progress "$log" kmake CC="$cc" HOSTCC="$cc" bindeb-pkg; then
		tail -n 40 "$log" >&2
		die "bindeb-pkg failed; full log in $log"
	fi
	mv "$BUILD"/linux-*.deb "$BUILD"/linux-hermit_* "$dest/"
	for f in "$dest"/*.deb; do
		info "$f"
	done
	info "install on a Debian or Ubuntu machine with: sudo dpkg -i linux-image-*.deb linux-headers-*.deb"
}

# The built image, or a clear error.
built_image() {
	local img=$OBJ/arch/x86/boot/bzImage
	[ -f "$img" ] || die "no kernel built in $OBJ; run ./build_kernel.sh build first"
	echo "$img"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "'$1' must run as root (it writes to /boot and /lib/modules); try: sudo ./build_kernel.sh $1"
}

# Install vmlinuz, System.map and config for the built release into $1.
install_image() {
	local dir=$1 krel=$2 img=$3
	mkdir -p "$dir"
	install -m 0644 "$img" "$dir/vmlinuz-$krel"
	install -m 0644 "$OBJ/System.map" "$dir/System.map-$krel"
	install -m 0644 "$OBJ/.config" "$dir/config-$krel"
	info "installed $dir/vmlinuz-$krel"
}

# Initramfs and grub only for a real install, never for a staging one.
staging() {
	[ -n "${DESTDIR:-}${INSTALL_PATH:-}${INSTALL_MOD_PATH:-}" ]
}

# The GRUB menu entry of release $1 in grub.cfg $2, by id, in the form
# grub-reboot and GRUB_DEFAULT take ("SUBMENU>ENTRY" in Debian's layout).
grub_entry() {
	awk -v krel="$1" '
		function id(line) {
			if (match(line, /menuentry_id_option '"'"'[^'"'"']*'"'"'/))
				return substr(line, RSTART + 21, RLENGTH - 22)
			return ""
		}
		/^submenu / { sub_id = id($0) }
		/^menuentry / { sub_id = "" }
		/^[ \t]*menuentry / && index($0, "with Linux " krel "'"'"'") && !/recovery/ {
			e = id($0)
			if (e == "")
				next
			print (sub_id != "" && $0 ~ /^[ \t]/ ? sub_id ">" : "") e
			exit
		}' "$2"
}

# Say how to boot release $1 once and for good; with $2 = yes, set up the
# one-time boot (unless staging).
grub_trial() {
	local krel=$1 trial=$2 cfg=${GRUB_CFG:-/boot/grub/grub.cfg} entry
	if [ ! -r "$cfg" ]; then
		[ "$trial" = yes ] && die "--trial: cannot read $cfg (set GRUB_CFG)"
		return 0
	fi
	entry=$(grub_entry "$krel" "$cfg")
	if [ -z "$entry" ]; then
		[ "$trial" = yes ] && die "--trial: no menu entry for $krel in $cfg"
		return 0
	fi
	if [ "$trial" = yes ]; then
		if staging; then
			info "staging install: would run grub-reboot '$entry'"
		else
			command -v grub-reboot >/dev/null || die "--trial needs grub-reboot"
			grub-reboot "$entry"
		fi
		info "the next boot, and only that one, starts $krel; a kernel that panics"
		info "comes back on the old default only with panic=N on its command line"
		info "(GRUB_CMDLINE_LINUX), one that hangs needs a power cycle"
	fi
	info "to start $krel by default, put this in /etc/default/grub, then run update-grub:"
	info "GRUB_DEFAULT=\"$entry\""
}

update_boot() {
	local krel=$1 initramfs=$2 trial=$3
	if staging; then
		info "staging install: initramfs and grub left alone"
		grub_trial "$krel" "$trial"
		return 0
	fi
	if [ "$initramfs" = yes ]; then
		if command -v update-initramfs >/dev/null; then
			update-initramfs -c -k "$krel"
		elif command -v dracut >/dev/null; then
			dracut --force "/boot/initramfs-$krel.img" "$krel"
		else
			info "no update-initramfs or dracut: no initramfs made"
		fi
	fi
	if command -v update-grub >/dev/null; then
		update-grub
		grub_trial "$krel" "$trial"
	else
		[ "$trial" = yes ] && die "--trial needs update-grub and grub-reboot"
		info "no update-grub: add /boot/vmlinuz-$krel to your boot loader"
	fi
}

cmd_install() {
	local img krel
	parse_options install "$@"
	need_root install
	img=$(built_image)
	krel=$(kernel_release)
	kmake -s INSTALL_MOD_PATH="${INSTALL_MOD_PATH:-${DESTDIR:-}}" modules_install
	install_image "${INSTALL_PATH:-${DESTDIR:-}/boot}" "$krel" "$img"
	update_boot "$krel" yes "$TRIAL"
}

cmd_replace() {
	local img krel moddir
	parse_options replace "$@"
	need_root replace
	img=$(built_image)
	krel=$(kernel_release)
	moddir=${INSTALL_MOD_PATH:-${DESTDIR:-}}/lib/modules/$krel
	[ -d "$moddir" ] || info "warning: $moddir does not exist; run install once to get the modules"
	install_image "${INSTALL_PATH:-${DESTDIR:-}/boot}" "$krel" "$img"
	update_boot "$krel" no "$TRIAL"
}

# The guest root file system image (built and cached on first use).
rootfs_image() {
	HERMIT_CACHE=$CACHE "$TOP/tools/hermit/vm/mkrootfs.sh"
}

vm_tool() {
	python3 "$TOP/tools/hermit/vm/cluster.py" "$@"
}

# Environment the cluster tool reads: which kernel and root to boot.
vm_env() {
	export HERMIT_KERNEL HERMIT_ROOTFS HERMIT_KREL HERMIT_VM_DIR
	HERMIT_KERNEL=$(built_image)
	HERMIT_KREL=$(kernel_release)
	HERMIT_VM_DIR=${HERMIT_VM_DIR:-$BUILD/vm}
	if [ "${1:-}" = rootfs ]; then
		HERMIT_ROOTFS=$(rootfs_image)
	fi
}

cmd_vm() {
	[ $# -ge 1 ] || die "vm needs a command: up, down, status, start NODE, stop NODE, shell NODE, run NODE SCRIPT"
	case $1 in
	up)
		ensure_deps
		[ -f "$OBJ/arch/x86/boot/bzImage" ] || build_logged
		vm_env rootfs
		;;
	down | status | start | stop | shell | run)
		export HERMIT_VM_DIR=${HERMIT_VM_DIR:-$BUILD/vm}
		;;
	*) die "unknown vm command '$1' (up, down, status, start, stop, shell, run)" ;;
	esac
	vm_tool "$@"
}

# Run "$@" with its output in the file $1, printing a line a minute: the
# time so far, the build steps done and the last one. Returns its status.
run_with_progress() {
	local log=$1 pid i=0 n last
	shift
	"$@" >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		i=$((i + 1))
		[ $((i % 60)) -eq 0 ] || continue
		n=$(grep -c "^  [A-Z]" "$log" || true)
		last=$(grep "^  [A-Z]" "$log" | tail -n 1 | sed "s/^ *//; s/  */ /" || true)
		info "still building: $((i / 60)) min, $n steps done${last:+, last: $last}"
	done
	wait "$pid"
}

# Build quietly for test and demo: the log is kept, its tail shown on failure.
build_logged() {
	local log=$BUILD_LOG
	mkdir -p "$BUILD"
	info "building the kernel (log: $log)"
	if ! run_with_progress "$log" "$TOP/build_kernel.sh" build; then
		tail -n 40 "$log" >&2
		die "kernel build failed; full log in $log"
	fi
	tail -n 1 "$log" >&2
}

cmd_test() {
	ensure_deps
	build_logged
	vm_env rootfs
	export HERMIT_TOP=$TOP HERMIT_BUILD=$BUILD
	python3 "$TOP/tools/hermit/run_tests.py" "$@"
}

cmd_bench() {
	local name=${1:-}
	[ $# -gt 0 ] && shift
	case $name in
	fault-latency | prefetch | offload-reclaim | apps | rereplicate) ;;
	*) die "unknown benchmark '${name}' (fault-latency, prefetch, offload-reclaim, apps, rereplicate)" ;;
	esac
	ensure_deps
	build_logged
	vm_env rootfs
	HERMIT_VM_DIR=$BUILD/vm-bench python3 "$TOP/tools/hermit/bench/${name//-/_}.py" "$@"
}

cmd_demo() {
	ensure_deps
	build_logged
	vm_env rootfs
	HERMIT_VM_DIR=$BUILD/vm-demo python3 "$TOP/tools/hermit/demo.py"
}

main() {
	local cmd=${1:-}
	[ $# -gt 0 ] && shift
	case $cmd in
	deps) cmd_deps ;;
	build)
		parse_options build "$@"
		cmd_build
		;;
	config)
		parse_options config "$@"
		cmd_config
		info "configuration: $OBJ/.config"
		;;
	deb)
		parse_options deb "$@"
		cmd_deb
		;;
	install) cmd_install "$@" ;;
	replace) cmd_replace "$@" ;;
	test) cmd_test "$@" ;;
	vm) cmd_vm "$@" ;;
	demo) cmd_demo ;;
	bench) cmd_bench "$@" ;;
	tree)
		assemble
		echo "$SRC"
		;;
	clean)
		rm -rf "$BUILD"
		info "removed $BUILD"
		;;
	help | -h | --help) usage ;;
	"")
		usage >&2
		exit 2
		;;
	*)
		echo "build_kernel.sh: unknown command '$cmd'" >&2
		echo "Run './build_kernel.sh --help' for the list of commands." >&2
		exit 2
		;;
	esac
}

main "$@"
