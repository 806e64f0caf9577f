/**
 * Which container the controller itself runs in. The controller never stops, lists or
 * reserves its own container as an app's, so how it knows that container must be
 * something no app can forge: a label can be put on any image (`org.felhom.role=
 * controller` on an app's image would hide it from status, stop and every backup
 * quiesce). Its container id cannot: Docker bind-mounts /etc/hostname, /etc/hosts and
 * /etc/resolv.conf from the container's own folder, `.../containers/<id>/`, and the
 * kernel shows those mounts in /proc/self/mountinfo.
 */
import fs from 'node:fs';

const OWN_FILE_MOUNT = /\/containers\/([0-9a-f]{64})\/(?:hostname|hosts|resolv\.conf) \/etc\/(?:hostname|hosts|resolv\.conf) /;

/** The id of the container this process runs in, or null outside a container (tests, a dev machine). */
export function ownContainerId(mountinfo: string | null = readMountinfo()): string | null {
  return (mountinfo && OWN_FILE_MOUNT.exec(mountinfo)?.[1]) ?? null;
}

function readMountinfo(): string | null {
  try {
    return fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return null;
  }
}
