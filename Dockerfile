# The controller image, as the host agent deploys it in a customer's guest (see
# compose/controller.yml and docs/operations.md). Build: scripts/image.sh (which also
# works offline) or `docker build -t felhom/controller .`
#
# Base images are pinned here; a machine that reaches no registry builds local stand-ins
# with exactly these names first (scripts/base-images.sh reads the values below).
ARG NODE_VERSION=24.9.0
ARG DOCKER_VERSION=26.1.5
ARG COMPOSE_VERSION=2.26.1
ARG RESTIC_VERSION=0.18.0

# The docker CLI, the compose v2 plugin and restic (bulk volume backups,
# src/backups/restic.ts): single binaries from the official images.
FROM docker:${DOCKER_VERSION}-cli AS docker-cli
FROM docker/compose-bin:v${COMPOSE_VERSION} AS compose
FROM restic/restic:${RESTIC_VERSION} AS restic

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# An offline build (scripts/image.sh) brings an npm cache in the context as .npm-cache/;
# the glob lets this COPY succeed without one, and npm then asks the registry.
COPY package.json package-lock.json .npm-cach[e] /tmp/npm-cache/
RUN cp /tmp/npm-cache/package.json /tmp/npm-cache/package-lock.json ./ \
 && npm ci --ignore-scripts --prefer-offline --cache /tmp/npm-cache --no-audit --no-fund --loglevel=error \
 && rm -rf /tmp/npm-cache
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# better-sqlite3 ships prebuilt binaries for every platform: keep only this one. Type
# declarations, TypeScript sources, source maps and readmes are never loaded at run time.
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && platform=$(node -p 'process.platform + "-" + process.arch') \
 && find node_modules/better-sqlite3/prebuilds -type f ! -name "$platform.node" -delete \
 && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
 && find dist -name '*.map' -delete \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.cts' -o -name '*.d.mts' -o -name '*.ts' -o -name '*.map' -o -name '*.md' \
    -o -name '*.c' -o -name '*.cc' -o -name '*.h' -o -name '*.gyp' -o -name '*.gypi' \) -delete

# The final image's root filesystem: the Node binary, the shared libraries it,
# better-sqlite3 and restic load (found with ldd, so any architecture works; the official
# restic is static and needs none, the offline stand-in's links glibc only) with their
# licences, and the node user. Nothing else: no shell, no package manager, no npm. That
# keeps the image small (docs/operations.md, Figures) and leaves an intruder no tools.
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
COPY --from=build /app/node_modules/better-sqlite3/prebuilds /tmp/prebuilds
COPY --from=restic /usr/bin/restic /tmp/restic
RUN set -eu; \
    mkdir -p /rootfs/usr/local/bin /rootfs/etc /rootfs/tmp /rootfs/data; \
    cp /usr/local/bin/node /rootfs/usr/local/bin/node; \
    libraries=$(ldd /usr/local/bin/node /tmp/prebuilds/*.node /tmp/restic \
      | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' | sort -u); \
    for library in $libraries; do \
      cp -L --parents "$library" /rootfs; \
      package=$(dpkg -S "*/${library##*/}" | head -1 | cut -d: -f1); \
      mkdir -p "/rootfs/usr/share/doc/$package"; \
      cp "/usr/share/doc/$package/copyright" "/rootfs/usr/share/doc/$package/"; \
    done; \
    grep -E '^(root|node):' /etc/passwd | sed 's|:[^:]*$|:/usr/sbin/nologin|' > /rootfs/etc/passwd; \
    grep -E '^(root|node):' /etc/group > /rootfs/etc/group; \
    cp /etc/nsswitch.conf /rootfs/etc/; \
    chmod 1777 /rootfs/tmp; \
    # The data volume is initialised from this folder, so it belongs to the controller's user.
    chown 1000:1000 /rootfs/data

FROM scratch
COPY --from=runtime /rootfs /
ENV NODE_ENV=production \
    FELHOM_DATA_DIR=/data \
    FELHOM_BOOTSTRAP_PATH=/etc/felhom/bootstrap.json \
    FELHOM_LISTEN=0.0.0.0:8080 \
    FELHOM_COMPOSE="docker compose" \
    DOCKER_CONFIG=/tmp/docker
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=compose /docker-compose /usr/local/lib/docker/cli-plugins/docker-compose
COPY --from=restic /usr/bin/restic /usr/local/bin/restic
WORKDIR /app
COPY package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY views ./views
COPY public ./public
COPY compose/apps ./compose/apps
USER node
EXPOSE 8080
# The controller never stops, updates or removes a container carrying this label.
LABEL org.felhom.role="controller" \
      org.opencontainers.image.title="Felhom controller" \
      org.opencontainers.image.description="The in-guest app controller: apps, storage placement, quiesced backups, the customer web UI"
# Healthy means ready (/readyz): the database answers, a bootstrap was applied, Docker
# answers. The agent channel is not counted: an agent away is no reason to roll back.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const m = /^\\[?(.*?)\\]?:(\\d+)$/.exec(process.env.FELHOM_LISTEN || '0.0.0.0:8080'); const host = ['0.0.0.0', '::', ''].includes(m[1]) ? '127.0.0.1' : m[1].includes(':') ? '[' + m[1] + ']' : m[1]; fetch('http://' + host + ':' + m[2] + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM (docker stop) makes the controller restart any apps a backup stopped, then exit.
STOPSIGNAL SIGTERM
# V8 grows the young generation to 32 MB in startup's burst of allocations and keeps it
# at idle; capped at 2 x 2 MB, the idle controller holds about 6 MB less at no measured
# cost in requests per second (docs/operations.md, Figures).
CMD ["node", "--max-semi-space-size=2", "dist/cli.js", "serve"]
