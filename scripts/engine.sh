#!/usr/bin/env bash
# Makes sure a Docker engine answers, on a fresh machine of our kind too: installs
# Debian's docker.io and docker-compose when missing, and restic and rclone, which the
# bulk backup tests drive (`rclone serve restic` is their REST server), and
# docker-registry, a real image registry the pull and update tests run on loopback; starts dockerd
# when it is not running (its PID goes to .dev/dockerd.pid, so whoever started it can
# stop it), and builds the local test images (no registry is reachable here).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_updated=0
apt_install() {
  [ "$apt_updated" = 1 ] || { apt-get update -qq >/dev/null; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null || [ ! -x /bin/busybox ] || ! file -L /bin/busybox 2>/dev/null | grep -q static; then
  if [ "$(id -u)" != 0 ]; then echo "engine: Docker is missing and installing it needs root" >&2; exit 1; fi
  echo "engine: installing docker.io, docker-compose and busybox-static from Debian" >&2
  apt_install docker.io docker-compose busybox-static file
fi

if ! command -v restic >/dev/null || ! command -v rclone >/dev/null; then
  # Without them only the bulk backup tests skip (or fail under CI=true), so a user who
  # is not root is told and goes on.
  if [ "$(id -u)" != 0 ]; then
    echo "engine: restic or rclone is missing and installing them needs root; the bulk backup tests will skip" >&2
  else
    echo "engine: installing restic and rclone from Debian" >&2
    apt_install restic rclone
  fi
fi

if ! command -v docker-registry >/dev/null; then
  # The image registry the pull, update and demo tests push to and pull from, on loopback.
  if [ "$(id -u)" != 0 ]; then
    echo "engine: docker-registry is missing and installing it needs root; the registry tests will skip" >&2
  else
    echo "engine: installing docker-registry from Debian" >&2
    apt_install docker-registry
  fi
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "engine: dockerd is not running and starting it needs root" >&2; exit 1; fi
  mkdir -p .dev
  echo "engine: starting dockerd (log: .dev/dockerd.log)" >&2
  nohup dockerd >.dev/dockerd.log 2>&1 &
  echo $! > .dev/dockerd.pid
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "engine: dockerd did not come up; see .dev/dockerd.log" >&2; tail -20 .dev/dockerd.log >&2; exit 1; }
fi

bash scripts/test-images.sh
