#!/usr/bin/env bash
# Builds the demo apps' images from Debian's static busybox on this machine, with no
# registry and no internet: each app in two versions whose pages differ ("version 1",
# "version 2"), so the demo can show an update.
#   felhom-demo/notes:1, :2   a notes page (busybox httpd and a CGI) over a hot volume, /data
#   felhom-demo/files:1, :2   a page listing a bulk volume, /srv/files, and serving its files
#   felhom-demo/heartbeat:1, :2  a page showing what a second service of the app, a worker
#                             running /bin/heartbeat from the same image, writes into /data
# All listen on 8080 and check their own page (HEALTHCHECK). Each image is one layer
# (docker import), so a pull of it downloads something the engine does not already
# have: the demo shows a real download. Built when missing or when this script changed
# (the images carry its hash as a label); FORCE=1 rebuilds.
#   scripts/demo-images.sh            builds what is missing or stale
#   scripts/demo-images.sh --recipe   prints the hash the images are labelled with
set -euo pipefail

recipe=$(sha256sum "$0" | cut -c1-16)
if [ "${1:-}" = --recipe ]; then echo "$recipe"; exit 0; fi
apps=(notes files heartbeat)
versions=(1 2)

have() {
  [ "${FORCE:-}" != 1 ] && [ "$(docker image inspect -f '{{index .Config.Labels "org.felhom.recipe"}}' "$1" 2>/dev/null)" = "$recipe" ]
}
stale=0
for app in "${apps[@]}"; do for version in "${versions[@]}"; do have "felhom-demo/$app:$version" || stale=1; done; done
[ "$stale" = 1 ] || exit 0

busybox=/bin/busybox
if ! file -L "$busybox" 2>/dev/null | grep -q static; then
  echo "demo-images: $busybox is not Debian's static busybox (busybox-static); scripts/engine.sh installs it as root" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The page header both apps share: the app's name, its version in big letters, and a
# colour per version, so an update is visible at a glance.
page_head() { # name version colour
  cat <<EOF
printf 'Content-Type: text/html; charset=utf-8\\r\\n\\r\\n'
esc() { printf '%s' "\$1" | sed 's/&/\\&amp;/g; s/</\\&lt;/g; s/>/\\&gt;/g; s/"/\\&quot;/g'; }
cat <<'HTML'
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>$1</title>
<style>
body { font-family: sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1d2330; }
.version { display: inline-block; padding: .2rem .6rem; border-radius: .4rem; color: #fff; background: $3; font-weight: bold; }
li { margin: .3rem 0; } small { color: #555; }
</style></head><body>
<h1>$1</h1>
<p class="version">version $2</p>
HTML
EOF
}

notes_cgi() { # version colour
  echo '#!/bin/sh'
  echo '# The notes page: shows the notes in /data/notes.txt and adds one from the form (?note=...).'
  page_head 'Notes (demo)' "$1" "$2"
  cat <<'EOF'
case "$QUERY_STRING" in
  note=?*)
    # A form sends a space as + and a + as %2B: + first, then the %-escapes.
    note=$(httpd -d "$(echo "${QUERY_STRING#note=}" | cut -d '&' -f 1 | tr '+' ' ')" | tr -d '\r\n')
    [ -n "$note" ] && echo "$(date '+%Y-%m-%d %H:%M') $note" >> /data/notes.txt
    ;;
esac
echo '<form method="get" action="/"><label>New note <input name="note" maxlength="200" required></label> <button>Add</button></form>'
echo '<h2>Notes</h2><ul>'
if [ -s /data/notes.txt ]; then
  while IFS= read -r line; do echo "<li>$(esc "$line")</li>"; done < /data/notes.txt
else
  echo '<li><small>No notes yet.</small></li>'
fi
echo '</ul>'
echo '<p><small>Kept in the app'"'"'s volume <code>data</code> (hot: in the server backup).</small></p>'
echo '</body></html>'
EOF
}

files_cgi() { # version colour
  echo '#!/bin/sh'
  echo '# The shared files page: lists /srv/files (the bulk volume); /files/<name> serves a file.'
  page_head 'Shared files (demo)' "$1" "$2"
  cat <<'EOF'
echo '<h2>Files</h2><ul>'
found=0
for path in /srv/files/*; do
  [ -f "$path" ] || continue
  found=1
  name=$(esc "${path##*/}")
  echo "<li><a href=\"/files/$name\">$name</a> <small>$(stat -c %s "$path") bytes</small></li>"
done
[ "$found" = 1 ] || echo '<li><small>No files yet: put some into the volume <code>files</code>.</small></li>'
echo '</ul>'
echo '<p><small>The volume <code>files</code> is bulk: the controller backs it up itself, with restic.</small></p>'
echo '</body></html>'
EOF
}

heartbeat_cgi() { # version colour
  echo '#!/bin/sh'
  echo '# The heartbeat page: what the worker service last wrote into /data.'
  page_head 'Heartbeat (demo)' "$1" "$2"
  cat <<'EOF'
echo '<p>This app has two services: this page, and a worker that writes the time into the volume <code>beats</code> every 5 seconds.</p>'
if [ -s /data/heartbeat ]; then
  echo "<p>Last heartbeat: <strong>$(esc "$(cat /data/heartbeat)")</strong>, beat number $(esc "$(cat /data/count 2>/dev/null)").</p>"
else
  echo '<p>No heartbeat yet: is the worker running?</p>'
fi
echo '</body></html>'
EOF
}

# The worker of the heartbeat app: the time and a running count, every 5 s. The count
# goes on from the volume's, so a restart or an update keeps counting.
heartbeat_worker() {
  cat <<'EOF'
#!/bin/sh
n=$(cat /data/count 2>/dev/null || echo 0)
while :; do
  n=$((n + 1))
  echo "$n" > /data/count.new && mv /data/count.new /data/count
  date '+%Y-%m-%d %H:%M:%S' > /data/heartbeat
  sleep 5
done
EOF
}

build() { # app version colour
  local app=$1 version=$2 colour=$3 root="$work/$1-$2"
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/www/cgi-bin"
  cp "$busybox" "$root/bin/busybox"
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  echo 'root:x:0:' > "$root/etc/group"
  chmod 1777 "$root/tmp"
  case "$app" in
    notes)
      mkdir -p "$root/data"
      # Seeded into the volume at install: the first note.
      echo "$(date -u '+%Y-%m-%d %H:%M') Welcome! This note came with the app." > "$root/data/notes.txt"
      notes_cgi "$version" "$colour" > "$root/www/cgi-bin/index.cgi"
      ;;
    files)
      mkdir -p "$root/srv/files"
      echo 'Files you put into the volume "files" are listed here.' > "$root/srv/files/README.txt"
      ln -s /srv/files "$root/www/files"
      files_cgi "$version" "$colour" > "$root/www/cgi-bin/index.cgi"
      ;;
    heartbeat)
      mkdir -p "$root/data"
      heartbeat_cgi "$version" "$colour" > "$root/www/cgi-bin/index.cgi"
      heartbeat_worker > "$root/bin/heartbeat"
      chmod 0755 "$root/bin/heartbeat"
      ;;
  esac
  # No index.html: busybox httpd then runs /cgi-bin/index.cgi for a folder's address.
  chmod 0755 "$root/www/cgi-bin/index.cgi"
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/bin' \
    --change "LABEL org.felhom.recipe=$recipe org.opencontainers.image.title=felhom-demo/$app org.opencontainers.image.version=$version" \
    --change 'EXPOSE 8080' \
    --change 'HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]' \
    --change 'CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]' \
    - "felhom-demo/$app:$version" >/dev/null
}

for app in "${apps[@]}"; do
  build "$app" 1 '#2f6fb0'
  build "$app" 2 '#2e8540'
done
echo "demo-images: built felhom-demo/{$(IFS=,; echo "${apps[*]}")}:{1,2}" >&2
