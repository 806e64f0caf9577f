#!/usr/bin/env bash
# Builds the controller image (default tag felhom/controller:dev) from the Dockerfile,
# also on a machine that reaches no image registry: the base images are local stand-ins
# (scripts/base-images.sh) and npm installs from a cache put in the build context.
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-felhom/controller:dev}"
source scripts/toolchain.sh
bash scripts/engine.sh
bash scripts/base-images.sh

# Production deploys with compose v2; a host with only v1 gets the v2 binary of the
# compose image for the image test (.dev/compose-v2/docker-compose, run standalone).
compose_image="docker/compose-bin:v$(sed -n 's/^ARG COMPOSE_VERSION=//p' Dockerfile | head -1)"
if [ ! -x .dev/compose-v2/docker-compose ]; then
  mkdir -p .dev/compose-v2
  holder=$(docker create "$compose_image")
  docker cp "$holder:/docker-compose" .dev/compose-v2/docker-compose >/dev/null
  docker rm "$holder" >/dev/null
fi

# The image's restic (current) beside Debian's 0.14 on the host: the bulk backup tests run
# with both (.dev/restic-image/restic; it links against glibc only).
restic_image="restic/restic:$(sed -n 's/^ARG RESTIC_VERSION=//p' Dockerfile | head -1)"
if [ ! -x .dev/restic-image/restic ]; then
  mkdir -p .dev/restic-image
  holder=$(docker create "$restic_image")
  docker cp "$holder:/usr/bin/restic" .dev/restic-image/restic >/dev/null
  docker rm "$holder" >/dev/null
fi

echo "image: filling .npm-cache/ from package-lock.json" >&2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp package.json package-lock.json "$scratch/"
(cd "$scratch" && npm ci --ignore-scripts --prefer-offline --cache "$OLDPWD/.npm-cache" --no-audit --no-fund --loglevel=error >&2)

echo "image: building $tag" >&2
started=$(date +%s)
docker build --quiet -t "$tag" . >/dev/null 2>"$scratch/build.log" || { cat "$scratch/build.log" >&2; exit 1; }
echo "image: built $tag in $(( $(date +%s) - started )) s ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))" >&2
