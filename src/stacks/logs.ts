/**
 * The recent log lines of a project, all services merged in time order, so a person
 * reads one story instead of one container after the other.
 */
import type Docker from 'dockerode';
import { inspectProject, serviceOf } from './containers.ts';
import { upstream } from './engine.ts';

export interface LogLine {
  service: string;
  line: string;
}

export interface LogsOptions {
  service?: string | undefined;
  /** How many lines at most, the newest. */
  tail: number;
}

export async function projectLogs(docker: Docker, project: string, options: LogsOptions): Promise<LogLine[]> {
  const containers = await inspectProject(docker, project, options.service);
  const perContainer = await Promise.all(
    containers.map(async (c) => {
      try {
        const raw = await docker.getContainer(c.Id).logs({ stdout: true, stderr: true, timestamps: true, tail: options.tail, follow: false });
        // Without a TTY, Docker frames each chunk with an 8-byte header; with one, it is raw.
        const text = c.Config.Tty ? raw.toString('utf8') : demultiplex(raw);
        return timedLines(text).map((entry) => ({ ...entry, service: serviceOf(c) }));
      } catch (error) {
        throw upstream(`reading the logs of ${c.Name.replace(/^\//, '')}`, error);
      }
    }),
  );
  // A stable sort keeps lines of one container with the same timestamp in order. (Docker
  // stamps a line when it reads it, so stdout and stderr lines written together may swap.)
  return perContainer
    .flat()
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
    .slice(-options.tail)
    .map(({ service, line }) => ({ service, line }));
}

/**
 * Joins the payloads of Docker's multiplexed log stream: frames of
 * [stream type, 0, 0, 0, payload size (uint32 BE)] + payload. The bytes are joined
 * before decoding, as a frame boundary may cut a UTF-8 character.
 */
export function demultiplex(buffer: Buffer): string {
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    payloads.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(payloads).toString('utf8');
}

/**
 * Splits `<RFC 3339 nano timestamp> <text>` lines. Docker trims trailing zeros of the
 * fraction, so it is padded to nine digits to make the times compare as strings.
 */
export function timedLines(text: string): Array<{ time: string; line: string }> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((raw) => {
    const space = raw.indexOf(' ');
    const stamp = space < 0 ? raw : raw.slice(0, space);
    const [seconds = '', fraction = ''] = stamp.replace(/Z$/, '').split('.');
    return { time: `${seconds}.${fraction.padEnd(9, '0')}`, line: space < 0 ? '' : raw.slice(space + 1) };
  });
}
