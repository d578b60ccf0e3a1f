#!/usr/bin/env bash
# Build the OCI images that run berth as a service, without a registry or a Dockerfile, the
# way scripts/build-images.sh builds the runtime images (a rootfs and `docker import`):
#
#   berth:latest (and berth:<version>)   the release binary, its glibc libraries (ldd),
#       a user berth (65532:65532) that owns /var/lib/berth, busybox's wget alone for the
#       health check; USER berth, ENTRYPOINT berth, CMD `run` on /etc/berth/manifests.
#   berth-socket-proxy:latest   Debian's haproxy with its libraries and the configuration
#       scripts/socket-proxy.sh generates (the rules of tecnativa/docker-socket-proxy), on
#       0.0.0.0:2375; its flags default to the least privilege berth needs (ENV), and are
#       read at run time, so `-e NETWORKS=1` works as with the original image.
#
# Usage: scripts/build-berth-image.sh [--profile release|debug | --binary PATH] [--force]
#   --profile P    cargo build that profile and package ${CARGO_TARGET_DIR:-target}/P/berth
#                  (default release; `make test` packages the debug build it has anyway,
#                  which saves CI a release build of several minutes)
#   --binary PATH  package this berth binary instead
#   --force        import even when an image with the same content exists
#
# Static musl was weighed and left: the musl target is not installable here (rustup cannot
# download it), and the glibc libraries berth links are four files (about 3 MB).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BERTH_REPO=berth
PROXY_REPO=berth-socket-proxy
BERTH_UID=65532
RUNTIME_IMAGE=berth-runtime:1 # where busybox comes from (scripts/build-images.sh)

log() { printf 'build-berth-image: %s\n' "$*"; }
die() {
    printf 'build-berth-image: ERROR: %s\n' "$*" >&2
    exit 1
}

binary=""
profile=release
force=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --binary) binary=${2:?--binary needs a path}; shift 2 ;;
        --profile) profile=${2:?--profile needs release or debug}; shift 2 ;;
        --force | -f) force=1; shift ;;
        -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

command -v docker >/dev/null 2>&1 || die "docker CLI not found (run scripts/ensure-engine.sh)"
docker info >/dev/null 2>&1 || die "no Docker engine answers; run scripts/ensure-engine.sh"
command -v ldd >/dev/null 2>&1 || die "ldd not found (Debian package libc-bin)"
command -v haproxy >/dev/null 2>&1 || die "haproxy is not installed: run 'bash scripts/ensure-tools.sh' as root"
docker image inspect "$RUNTIME_IMAGE" >/dev/null 2>&1 ||
    die "$RUNTIME_IMAGE is missing (its busybox gives the health check's wget): run 'make images'"

if [[ -z $binary ]]; then
    case "$profile" in
        release) build=(--release) ;;
        debug) build=() ;;
        *) die "--profile $profile: use release or debug" ;;
    esac
    log "cargo build ${build[*]} -p berth"
    cargo build "${build[@]}" --quiet -p berth || die "cargo build ${build[*]} failed"
    binary="${CARGO_TARGET_DIR:-target}/$profile/berth"
fi
[[ -x $binary ]] || die "$binary is not an executable"
version=$("$binary" --version | awk '{print $2}')
[[ -n $version ]] || die "$binary --version printed no version"
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain 2>/dev/null) ]]; then
    revision="${revision}-dirty"
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/berth-image.XXXXXX")
cleanup() { rm -rf "$workdir"; }
trap cleanup EXIT

# Copies an executable and every library ldd names into ROOT, at the same paths.
with_libraries() {
    local exe=$1 root=$2 dest=$3 lib
    install -D -m 0755 "$exe" "$root$dest"
    while read -r lib; do
        [[ -n $lib ]] || continue
        install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
    done < <(ldd "$exe" | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]+ \(/{print $1}')
}

# A deterministic archive (sorted, fixed times, numeric owners), so the same content gives
# the same digest and an unchanged image is not imported again.
archive() {
    local root=$1 out=$2 skip excludes=()
    shift 2
    for skip in "$@"; do excludes+=("--exclude=$skip"); done
    tar -C "$root" --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 \
        "${excludes[@]}" -cf "$out" .
}

# Imports ARCHIVE as every TAG unless the first tag already holds this content.
import() {
    local tar=$1 name=$2 changes_var=$3
    shift 3
    local -n changes=$changes_var
    local digest tag args=()
    digest=$(cat "$tar" <(printf '%s\n' "${changes[@]}") | sha256sum | cut -c1-16)
    local comment="$name $version ($revision), rootfs+changes $digest"
    if [[ $force -eq 0 ]] &&
        [[ $(docker image inspect -f '{{.Comment}}' "$1" 2>/dev/null || true) == *"$digest" ]]; then
        log "$1 is up to date ($digest)"
        for tag in "${@:2}"; do docker tag "$1" "$tag"; done
        return
    fi
    for c in "${changes[@]}"; do args+=(-c "$c"); done
    local old id
    old=$(docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true)
    id=$(docker import "${args[@]}" -m "$comment" "$tar" "$1")
    for tag in "${@:2}"; do docker tag "$id" "$tag"; done
    log "imported $* -> $id"
    if [[ -n $old && $old != "$id" ]]; then
        docker image rm "$old" >/dev/null 2>&1 || log "kept the previous $1 ($old): still in use"
    fi
}

# --- berth -----------------------------------------------------------------------------
root="$workdir/berth"
mkdir -p "$root"/{etc/berth/manifests,tmp,bin,var/lib/berth}
stripped="$workdir/berth.bin"
cp "$binary" "$stripped"
strip --strip-debug "$stripped" 2>/dev/null || log "strip not available; packaging the binary as built"
with_libraries "$stripped" "$root" /usr/local/bin/berth
# busybox from the runtime image, linked only as wget: the health check, not a shell.
cid=$(docker create "$RUNTIME_IMAGE")
docker cp "$cid:/bin/busybox" "$root/bin/busybox" >/dev/null
docker rm "$cid" >/dev/null
ln -s busybox "$root/bin/wget"
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    # For --portainer-url https:// with the system roots.
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
fi
cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/nonexistent:/sbin/nologin
berth:x:${BERTH_UID}:${BERTH_UID}:berth:/var/lib/berth:/sbin/nologin
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
berth:x:${BERTH_UID}:
EOF
chmod 0644 "$root/etc/passwd" "$root/etc/group"
chmod 1777 "$root/tmp"
chmod 0750 "$root/var/lib/berth"
# Everything 0:0, then /var/lib/berth as the berth user: an empty named volume mounted
# there takes this ownership on first use, so the non-root berth can write its state.
archive "$root" "$workdir/berth.tar" ./var/lib/berth
tar -C "$root" --mtime=@0 --numeric-owner --owner="$BERTH_UID" --group="$BERTH_UID" \
    --no-recursion -rf "$workdir/berth.tar" ./var/lib/berth
berth_changes=(
    "USER ${BERTH_UID}:${BERTH_UID}"
    "ENV BERTH_STATE_DIR=/var/lib/berth"
    "ENV BERTH_LOG=info"
    "ENV DOCKER_HOST=tcp://socket-proxy:2375"
    "WORKDIR /var/lib/berth"
    "EXPOSE 9325"
    'ENTRYPOINT ["/usr/local/bin/berth"]'
    'CMD ["run", "--listen", "0.0.0.0:9325", "--policy", "/etc/berth/manifests/policy.yaml", "--sessions", "/etc/berth/manifests/sessions", "/etc/berth/manifests"]'
)
import "$workdir/berth.tar" berth berth_changes "$BERTH_REPO:latest" "$BERTH_REPO:$version"

# --- the socket proxy --------------------------------------------------------------------
proot="$workdir/proxy"
mkdir -p "$proot"/{etc/haproxy,tmp,var/run}
with_libraries "$(command -v haproxy)" "$proot" /usr/sbin/haproxy
SOCKET_PATH=/var/run/docker.sock bash scripts/socket-proxy.sh --listen 0.0.0.0 --port 2375 \
    --print-config >"$proot/etc/haproxy/haproxy.cfg"
chmod 0644 "$proot/etc/haproxy/haproxy.cfg"
printf 'root:x:0:0:root:/nonexistent:/sbin/nologin\n' >"$proot/etc/passwd"
printf 'root:x:0:\n' >"$proot/etc/group"
chmod 1777 "$proot/tmp"
archive "$proot" "$workdir/proxy.tar"
proxy_changes=()
# The flags the proxy starts with: the least privilege berth needs, from the script that
# defines them (one list for the tests, this image and the systemd unit).
while IFS= read -r line; do
    proxy_changes+=("ENV $line")
done < <(env -i PATH="$PATH" bash scripts/socket-proxy.sh --least-privilege --print-flags)
proxy_changes+=(
    "EXPOSE 2375"
    'ENTRYPOINT ["/usr/sbin/haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]'
)
import "$workdir/proxy.tar" socket-proxy proxy_changes "$PROXY_REPO:latest" "$PROXY_REPO:$version"

# --- verify ------------------------------------------------------------------------------
berth_version=$(docker run --rm "$BERTH_REPO:latest" --version) || die "berth:latest does not run"
[[ $berth_version == "berth $version "* || $berth_version == "berth $version" ]] || die "berth:latest --version printed '$berth_version'"
out=$(docker run --rm --entrypoint /bin/wget "$BERTH_REPO:latest" --help 2>&1 || true)
[[ $out == *"Usage: wget"* ]] || die "berth:latest has no wget for its health check: $out"
user=$(docker image inspect -f '{{.Config.User}}' "$BERTH_REPO:latest")
[[ $user == "${BERTH_UID}:${BERTH_UID}" ]] || die "berth:latest runs as '$user'"
docker run --rm --entrypoint /usr/sbin/haproxy "$PROXY_REPO:latest" -c -f /etc/haproxy/haproxy.cfg >/dev/null ||
    die "berth-socket-proxy:latest: haproxy does not load its configuration"
log "verified $BERTH_REPO:latest ($berth_version, user $user) and $PROXY_REPO:latest (haproxy -c)"
docker image ls --filter "reference=$BERTH_REPO" --filter "reference=$PROXY_REPO"
