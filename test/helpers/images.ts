import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Builds a local image FROM the busybox test image (no registry needed) whose files at
 * /srv/www say `content`; returns the tag. Rebuilding a tag with other content gives a
 * new image id, which is what an update brings.
 */
export function buildWebImage(tag: string, content: string, extraLines: string[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'felhom-image-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'Dockerfile'),
      [
        'FROM felhom-test/busybox:latest',
        `RUN mkdir -p /srv/www && echo '${content}' > /srv/www/index.html && chown -R 1000:1000 /srv/www`,
        'CMD ["httpd", "-f", "-p", "8080", "-h", "/srv/www"]',
        ...extraLines,
      ].join('\n'),
    );
    execFileSync('docker', ['build', '-q', '-t', tag, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    return tag;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** For a suite's `before`: builds the image when an engine answers; without one each test says so through requireDocker. */
export function buildWebImageIfEngine(tag: string, content: string): void {
  try {
    buildWebImage(tag, content);
  } catch {
    // no engine
  }
}

export function imageId(reference: string): string {
  return execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', reference], { encoding: 'utf8' }).trim();
}

export function removeImage(tag: string): void {
  try {
    execFileSync('docker', ['image', 'rm', '-f', tag], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}
