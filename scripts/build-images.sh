#!/usr/bin/env bash
# Build the local test/demo images berth-runtime:1 and berth-runtime:2 without any
# registry, from a static busybox (Debian's busybox-static package).
#
# Usage: scripts/build-images.sh [--force]
#
# Every busybox applet is linked in /bin (sh sleep httpd nc wget ... are required).
# Both tags hold the same busybox rootfs; they differ only in /etc/berth-image-version
# ("1" or "2"), so they have different image IDs and tests can use :2 to simulate an
# image upgrade. Each image serves HTTP with `httpd -f -p PORT -h /www`
# (GET /healthz -> "ok"), runs as root by default, and has a user `agent` (1000:1000)
# whose home /workspace it owns.
set -euo pipefail

REPO=berth-runtime
TAGS=(1 2)
APPLETS=(sh sleep httpd nc wget cat echo ls mkdir rm true false env id kill ps touch date
    printf test '[' grep sed tee head tail wc hostname uname)

log() { printf 'build-images: %s\n' "$*"; }
die() {
    printf 'build-images: ERROR: %s\n' "$*" >&2
    exit 1
}

usage() {
    echo "usage: $0 [--force]"
    echo "  Builds ${REPO}:1 and ${REPO}:2 from a static busybox (no registry needed)."
    echo "  --force  rebuild even if both images already exist"
}

force=0
for arg in "$@"; do
    case "$arg" in
        --force | -f) force=1 ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown argument: $arg"
            ;;
    esac
done

command -v docker >/dev/null 2>&1 || die "docker CLI not found (run scripts/ensure-engine.sh)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}); run scripts/ensure-engine.sh"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

if [[ $force -eq 0 ]]; then
    all_present=1
    for tag in "${TAGS[@]}"; do
        image_exists "${REPO}:${tag}" || all_present=0
    done
    if [[ $all_present -eq 1 ]]; then
        log "images present: ${TAGS[*]/#/${REPO}:} (use --force to rebuild)"
        exit 0
    fi
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/berth-images.XXXXXX")
cleanup() { rm -rf "$workdir"; }
trap cleanup EXIT

is_static() {
    # true if $1 is an executable that is not dynamically linked
    [[ -x "$1" ]] || return 1
    if command -v file >/dev/null 2>&1; then
        file -L "$1" | grep 'statically linked' >/dev/null
    else
        # ldd exits non-zero and prints "not a dynamic executable" for static binaries
        LC_ALL=C ldd "$1" 2>&1 | grep 'not a dynamic executable' >/dev/null
    fi
}

# --- 1. obtain a static busybox ------------------------------------------------------
busybox=""
dl="$workdir/download"
mkdir -p "$dl"
apt_opts=()
if [[ $(id -u) -eq 0 ]]; then
    # As root, apt drops to the _apt user for downloads, which cannot write into our
    # private temp dir; keep the download as root instead of getting a warning.
    apt_opts=(-o APT::Sandbox::User=root)
fi
download_busybox() {
    (cd "$dl" && apt-get "${apt_opts[@]}" download busybox-static)
}
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then
    log "downloading Debian package busybox-static (apt-get download)"
    if ! download_busybox; then
        if [[ $(id -u) -eq 0 ]]; then
            log "download failed; running apt-get update and retrying"
            apt-get update -q || log "apt-get update failed"
            download_busybox || log "apt-get download busybox-static failed again"
        else
            log "apt-get download failed (not root, so not running apt-get update)"
        fi
    fi
    shopt -s nullglob
    debs=("$dl"/busybox-static_*.deb)
    shopt -u nullglob
    if [[ ${#debs[@]} -gt 0 ]]; then
        dpkg-deb -x "${debs[0]}" "$workdir/pkg"
        if is_static "$workdir/pkg/bin/busybox"; then
            busybox="$workdir/pkg/bin/busybox"
            log "using busybox from $(basename "${debs[0]}")"
        else
            log "bin/busybox in $(basename "${debs[0]}") is missing or not static"
        fi
    fi
else
    log "apt-get/dpkg-deb not available; cannot download busybox-static"
fi
if [[ -z $busybox ]] && is_static /bin/busybox; then
    busybox=/bin/busybox
    log "using the host's statically linked /bin/busybox"
fi
[[ -n $busybox ]] || die "no static busybox: 'apt-get download busybox-static' failed and /bin/busybox is missing or dynamically linked. Fix: check access to deb.debian.org (apt-get update), or install busybox-static (apt-get install -y busybox-static) and re-run."

log "busybox: $("$busybox" 2>&1 | head -n1 || true)"
available=$("$busybox" --list)
missing=()
for a in "${APPLETS[@]}"; do
    grep -qxF -- "$a" <<<"$available" || missing+=("$a")
done
[[ ${#missing[@]} -eq 0 ]] || die "busybox lacks required applets: ${missing[*]}"

# --- 2. lay out the rootfs -------------------------------------------------------------
rootfs="$workdir/rootfs"
mkdir -p "$rootfs"/{bin,etc,tmp,www,workspace,root,proc,sys,dev,var/run}
install -m 0755 "$busybox" "$rootfs/bin/busybox"
# Link every applet (the required ones above were checked to be among them), so any
# applet can be exec'd directly, not only from inside `sh`.
while IFS= read -r a; do
    if [[ -n $a && $a != busybox && $a != */* ]]; then
        ln -s busybox "$rootfs/bin/$a"
    fi
done <<<"$available"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
chmod 0755 "$rootfs/workspace"

cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
agent:x:1000:1000:agent:/workspace:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
agent:x:1000:
nogroup:x:65534:
EOF
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group"
printf 'ok\n' >"$rootfs/www/healthz"
printf 'berth demo\n' >"$rootfs/www/index.html"
chmod 0644 "$rootfs/www/healthz" "$rootfs/www/index.html"

# --- 3. import one image per tag -------------------------------------------------------
# The archive is built in two steps so ownership is right without chown (works as non-root):
# everything as 0:0, then /workspace appended as 1000:1000.
for tag in "${TAGS[@]}"; do
    printf '%s\n' "$tag" >"$rootfs/etc/berth-image-version"
    chmod 0644 "$rootfs/etc/berth-image-version"
    archive="$workdir/rootfs-$tag.tar"
    tar -C "$rootfs" --numeric-owner --owner=0 --group=0 \
        --exclude=./workspace -cf "$archive" .
    tar -C "$rootfs" --numeric-owner --owner=1000 --group=1000 \
        -rf "$archive" ./workspace
    old_id=$(docker image inspect -f '{{.Id}}' "${REPO}:${tag}" 2>/dev/null || true)
    id=$(docker import -c 'CMD ["/bin/sh"]' -c 'WORKDIR /' \
        -m "berth test/demo image ${tag} (static busybox)" "$archive" "${REPO}:${tag}")
    log "imported ${REPO}:${tag} -> ${id}"
    if [[ -n $old_id && $old_id != "$id" ]]; then
        # the previous build is now untagged; drop it unless a container still uses it
        if docker image rm "$old_id" >/dev/null 2>&1; then
            log "removed previous ${REPO}:${tag} (${old_id})"
        else
            log "kept previous ${REPO}:${tag} (${old_id}): still in use"
        fi
    fi
done

# --- 4. verify -------------------------------------------------------------------------
for tag in "${TAGS[@]}"; do
    img="${REPO}:${tag}"
    out=$(docker run --rm "$img" sh -c 'wget -q -O- http://127.0.0.1:1 2>/dev/null || true; echo ok')
    [[ $out == ok ]] || die "$img: shell check printed '$out' instead of 'ok'"
    # Read the whole list before matching: `grep -q` would stop early and, under pipefail,
    # the writer's broken pipe would fail the check.
    applets=$(docker run --rm "$img" /bin/busybox --list) || die "$img: cannot list its applets"
    grep -qx httpd <<<"$applets" || die "$img: no httpd applet"
    docker run --rm "$img" sleep 0 || die "$img: cannot exec the sleep applet directly"
    ver=$(docker run --rm "$img" cat /etc/berth-image-version)
    [[ $ver == "$tag" ]] || die "$img: /etc/berth-image-version is '$ver', expected '$tag'"
    owner=$(docker run --rm "$img" ls -nd /workspace | awk '{print $3":"$4}')
    [[ $owner == 1000:1000 ]] || die "$img: /workspace owned by $owner, expected 1000:1000"
    log "verified $img (sh, wget, httpd applet, /workspace 1000:1000)"
done
docker image ls "$REPO"
log "done"
