/**
 * The agent's self-signed TLS leaves. Generated once and persisted: the controller pins
 * the leaf's SHA-256, so a fresh certificate per start would break every issued bootstrap
 * (context/004 §6a). The 'alternate' leaf stands in for "some other certificate" (a man
 * in the middle, a re-keyed agent) so the controller's pin check can be exercised.
 *
 * The certificate is encoded here rather than with @peculiar/x509: that library needs a
 * process-wide Reflect metadata polyfill (tsyringe), which is not a dependency of this
 * project. A pinned leaf needs no more than the few DER structures below.
 */
import { X509Certificate, createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from './files.ts';

export interface Leaf {
  certPem: string;
  keyPem: string;
  /** `sha256:` and 64 lowercase hex digits of the certificate's DER bytes. */
  fingerprint: string;
}

export type CertificateChoice = 'own' | 'alternate';

const FILES: Record<CertificateChoice, { cert: string; key: string }> = {
  own: { cert: 'cert.pem', key: 'key.pem' },
  alternate: { cert: 'alternate-cert.pem', key: 'alternate-key.pem' },
};

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

export function fingerprintOf(certPem: string): string {
  return `sha256:${createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex')}`;
}

export async function loadOrCreateLeaf(stateDir: string, which: CertificateChoice): Promise<Leaf> {
  const certPath = join(stateDir, FILES[which].cert);
  const keyPath = join(stateDir, FILES[which].key);
  const [certPem, keyPem] = await Promise.all([readFileIfExists(certPath), readFileIfExists(keyPath)]);
  if (certPem && keyPem) return { certPem, keyPem, fingerprint: fingerprintOf(certPem) };

  const leaf = generateLeaf(which === 'own' ? 'felhom-dev-agent' : 'felhom-dev-agent-alternate');
  await writeFileAtomic(keyPath, leaf.keyPem, 0o600);
  await writeFileAtomic(certPath, leaf.certPem, 0o644);
  return leaf;
}

function generateLeaf(commonName: string): Leaf {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = Date.now();
  const name = sequence(set(sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
  const ecdsaWithSha256 = sequence(oid('1.2.840.10045.4.3.2'));
  const basicConstraintsLeaf = sequence(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, sequence()));
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))), // v3
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    ecdsaWithSha256,
    name,
    sequence(time(new Date(now - 3600 * 1000)), time(new Date(now + TEN_YEARS_MS))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, sequence(basicConstraintsLeaf)),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = sequence(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const certPem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certPem, keyPem, fingerprint: fingerprintOf(certPem) };
}

function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const length = body.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else if (length < 0x100) header = Buffer.from([tag, 0x81, length]);
  else header = Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  return Buffer.concat([header, body]);
}

function sequence(...contents: Buffer[]): Buffer {
  return tlv(0x30, ...contents);
}

function set(...contents: Buffer[]): Buffer {
  return tlv(0x31, ...contents);
}

/** A non-negative INTEGER: a leading zero byte keeps a high first bit from reading as a sign. */
function integer(magnitude: Buffer): Buffer {
  return tlv(0x02, (magnitude[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) base128.unshift((value & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(date: Date): Buffer {
  const digits = date.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2))) : tlv(0x18, Buffer.from(digits));
}
