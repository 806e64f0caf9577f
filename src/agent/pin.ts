/**
 * Pinning the agent's self-signed leaf certificate.
 *
 * Node's own verification is off for this connection (the leaf has no CA), and is
 * replaced by a single check: the SHA-256 of the peer's certificate (DER) must equal
 * the pin from bootstrap.json. undici calls our connector's callback only after the
 * TLS handshake and before it writes any request byte, so a peer with another
 * certificate is dropped having seen nothing but the handshake: no path, no token.
 * TLS session resumption is off: a resumed session would skip presenting the
 * certificate, and with it the check.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';

const PIN_PATTERN = /^(?:sha256:)?([0-9a-f]{64}|[0-9a-f]{2}(?::[0-9a-f]{2}){31})$/i;

/** Parses a pin in any spelling the contract accepts; null when it is not one. */
export function parsePin(text: string): Buffer | null {
  const match = PIN_PATTERN.exec(text.trim());
  if (!match?.[1]) return null;
  return Buffer.from(match[1].replaceAll(':', ''), 'hex');
}

/** The canonical spelling the controller shows: `sha256:` and 64 lowercase hex digits. */
export function formatPin(pin: Buffer): string {
  return `sha256:${pin.toString('hex')}`;
}

export function certificatePin(derCertificate: Buffer): Buffer {
  return createHash('sha256').update(derCertificate).digest();
}

export class PinMismatchError extends Error {
  readonly expected: string;
  readonly presented: string | null;

  constructor(expected: Buffer, presented: Buffer | null) {
    super(
      presented
        ? `the agent presented certificate ${formatPin(presented)}, but bootstrap.json pins ${formatPin(expected)}`
        : `the agent presented no certificate; bootstrap.json pins ${formatPin(expected)}`,
    );
    this.name = 'PinMismatchError';
    this.expected = formatPin(expected);
    this.presented = presented ? formatPin(presented) : null;
  }
}

export function pinnedConnector(pin: Buffer, connectTimeoutMs: number): buildConnector.connector {
  const connect = buildConnector({
    rejectUnauthorized: false,
    maxCachedSessions: 0,
    allowH2: false,
    timeout: connectTimeoutMs,
  });
  return (options, callback) => {
    connect(options, (error, socket) => {
      if (error || !socket) {
        callback(error ?? new Error('connection failed'), null);
        return;
      }
      const raw = (socket as TLSSocket).getPeerCertificate?.()?.raw;
      const presented = raw ? certificatePin(raw) : null;
      if (!presented || !timingSafeEqual(presented, pin)) {
        socket.destroy();
        callback(new PinMismatchError(pin, presented), null);
        return;
      }
      callback(null, socket);
    });
  };
}
