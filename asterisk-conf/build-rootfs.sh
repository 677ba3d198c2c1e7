#!/usr/bin/env bash
# Build the Asterisk 22 root filesystem that the local stack runs chrooted
# (devstack/asterisk.py) and that asterisk-conf/Dockerfile wraps.
#
# Usage:
#   asterisk-conf/build-rootfs.sh [DEST]    build (or reuse) a rootfs directory
#   asterisk-conf/build-rootfs.sh --tar OUT write the same rootfs as a tarball
#
# The default DEST is
#   ${CONTROLPLANE_CACHE:-/var/cache/controlplane}/asterisk-rootfs-<hash>
# where <hash> is a short hash of this script (which holds the package list),
# so changing the recipe yields a new directory and an unchanged recipe reuses
# the cached one. A directory counts as complete only once the marker file
# written last exists; a half-built tree is never used. The build runs in a
# temporary directory next to DEST and is renamed into place at the end.
#
# On success the rootfs path (or the tarball path) is the only line printed
# on stdout; build progress goes to stderr.
#
# Environment:
#   CONTROLPLANE_CACHE          cache root (default /var/cache/controlplane)
#   CONTROLPLANE_DEBIAN_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#
# Needs root (mmdebstrap's root mode) and mmdebstrap >= 1.3.
set -euo pipefail

SUITE=sid
MIRROR=${CONTROLPLANE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
MARKER=.controlplane-rootfs-complete

# Everything Asterisk needs beyond the essential set. The wav sound and MOH
# packages are used rather than gsm: turning 8 kHz wav (slin) into ulaw costs
# far less CPU than decoding GSM, which matters for load tests with MOH.
PACKAGES=(
    asterisk
    asterisk-modules
    asterisk-core-sounds-en-wav
    asterisk-moh-opsound-wav
)

script_path=$(readlink -f "${BASH_SOURCE[0]}")
recipe_hash=$(sha256sum "$script_path" | cut -c1-12)

# Files written inside the rootfs after the packages are installed. mmdebstrap
# runs this as its customize hook (this script calling itself), so that the
# directory and the tarball outputs are the same image.
customize() {
    local root=$1
    if [[ -z $root || $root == / || ! -d $root/var/lib/dpkg ]]; then
        echo "build-rootfs: refusing to customize '$root'" >&2
        exit 1
    fi
    # Without an /etc/hosts, PJSIP resolves localhost through DNS on every call.
    printf '%s\n' \
        '127.0.0.1	localhost' \
        '127.0.1.1	asterisk-dev' \
        '::1	localhost ip6-localhost ip6-loopback' >"$root/etc/hosts"
    echo asterisk-dev >"$root/etc/hostname"
    chmod 0644 "$root/etc/hosts" "$root/etc/hostname"
    # ARI recordings fail with 500 unless this directory exists; Asterisk
    # runs as its own user and writes there. (/run is emptied by mmdebstrap's
    # clean-up: /run/asterisk is made when Asterisk is started.)
    mkdir -p "$root/var/spool/asterisk/recording"
    local ids
    ids=$(awk -F: '$1 == "asterisk" { print $3 ":" $4 }' "$root/etc/passwd")
    [[ -n $ids ]] || { echo "build-rootfs: no asterisk user in the rootfs" >&2; exit 1; }
    chown "$ids" "$root/var/spool/asterisk/recording"
    # The image is never updated in place: drop apt's lists and caches.
    rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin
    {
        echo "recipe=$recipe_hash"
        echo "suite=$SUITE"
        echo "asterisk=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Version}' asterisk)"
    } >"$root/etc/controlplane-rootfs"
}

if [[ $# -eq 2 && $1 == --customize-hook ]]; then
    customize "$2"
    exit 0
fi

usage() {
    echo "usage: $0 [DEST] | --tar OUT" >&2
    exit 2
}

tar_out=""
dest=""
case $# in
    0) ;;
    1)
        case $1 in
            -h | --help | --tar | --customize-hook) usage ;;
            *) dest=$1 ;;
        esac
        ;;
    2)
        [[ $1 == --tar ]] || usage
        tar_out=$2
        ;;
    *) usage ;;
esac

if [[ -z $tar_out ]]; then
    if [[ -z $dest ]]; then
        dest="${CONTROLPLANE_CACHE:-/var/cache/controlplane}/asterisk-rootfs-$recipe_hash"
    fi
    dest=${dest%/}
    # The common case: already built. Needs neither root nor mmdebstrap.
    if [[ -f $dest/$MARKER ]]; then
        echo "$dest"
        exit 0
    fi
    if [[ -e $dest ]]; then
        echo "build-rootfs: $dest exists but is incomplete (no $MARKER); remove it first" >&2
        exit 1
    fi
fi

if ! command -v mmdebstrap >/dev/null; then
    echo "build-rootfs: mmdebstrap is not installed (apt-get install mmdebstrap)" >&2
    exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "build-rootfs: must run as root" >&2
    exit 1
fi

include=$(
    IFS=,
    echo "${PACKAGES[*]}"
)
mmdebstrap_args=(
    --variant=essential
    --mode=root
    --aptopt='Acquire::Check-Valid-Until "false"'
    --aptopt='APT::Install-Recommends "false"'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-include=/usr/share/locale/locale.alias'
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/info/*'
    --include="$include"
    --customize-hook="\"$script_path\" --customize-hook \"\$1\""
)

start=$(date +%s)

if [[ -n $tar_out ]]; then
    tmp_tar="$tar_out.tmp.$$"
    trap 'rm -f "$tmp_tar"' EXIT
    mmdebstrap "${mmdebstrap_args[@]}" --format=tar "$SUITE" "$tmp_tar" "$MIRROR" >&2
    mv -f "$tmp_tar" "$tar_out"
    trap - EXIT
    echo "build-rootfs: wrote $tar_out in $(($(date +%s) - start)) s" >&2
    echo "$tar_out"
    exit 0
fi

parent=$(dirname "$dest")
mkdir -p "$parent"
tmp_dir=$(mktemp -d "$parent/.$(basename "$dest").tmp.XXXXXX")
trap 'rm -rf --one-file-system "$tmp_dir"' EXIT
# mmdebstrap wants the target directory empty or missing.
rmdir "$tmp_dir"

mmdebstrap "${mmdebstrap_args[@]}" --format=directory "$SUITE" "$tmp_dir" "$MIRROR" >&2
chmod 0755 "$tmp_dir"
date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp_dir/$MARKER"

# rename(2) onto a non-empty directory fails: if another build finished
# first, keep its result and drop ours.
if ! mv -T "$tmp_dir" "$dest" 2>/dev/null && [[ ! -f $dest/$MARKER ]]; then
    echo "build-rootfs: could not move the new rootfs to $dest" >&2
    exit 1
fi
echo "build-rootfs: built $dest in $(($(date +%s) - start)) s ($(du -sh "$dest" | cut -f1))" >&2
echo "$dest"
