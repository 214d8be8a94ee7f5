import { strict as assert } from 'node:assert';
import { X509Certificate, createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import {
  CertificateAuthority,
  CertificateError,
  CertificateProblem,
  Role,
  TrustAnchor,
  certificateFingerprint,
  createCertificateRequest,
  generateKeyPair,
  loadPrivateKey,
  privateKeyToPem,
  readCertificateRequest,
  signPayload,
  subjectName,
  verifyPayload,
} from '../../../common/pki';
import { ECDSA_SHA256, toCryptoKeyPair, x509 } from '../../../common/pki/x509-provider';

const HOUR = 3600_000;

const problem = (expected: CertificateProblem) => (err: unknown) => {
  assert.ok(err instanceof CertificateError, `expected a CertificateError, got ${String(err)}`);
  assert.equal(err.problem, expected, err.message);
  return true;
};

async function issue(
  ca: CertificateAuthority,
  role: Role,
  name: string,
  extra: { ips?: string[]; dnsNames?: string[]; validForMs?: number; notBefore?: Date } = {},
) {
  const key = generateKeyPair();
  const pem = await ca.issue({ role, name, publicKey: createPublicKey(key), validForMs: HOUR, ...extra });
  return { key, pem };
}

function toPem(der: Buffer, label: string): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64')}\n-----END ${label}-----\n`;
}

// A certificate the CA's key signs without going through issue(), to present subjects issue() refuses.
async function signedByCa(ca: CertificateAuthority, subject: string): Promise<string> {
  const caKeys = await toCryptoKeyPair(loadPrivateKey(ca.keyPem));
  const leafKeys = await toCryptoKeyPair(generateKeyPair());
  const cert = await x509().X509CertificateGenerator.create({
    subject,
    issuer: new (x509().X509Certificate)(ca.certPem).subjectName,
    notBefore: new Date(Date.now() - HOUR),
    notAfter: new Date(Date.now() + HOUR),
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ECDSA_SHA256,
  });
  return cert.toString('pem');
}

describe('pki', () => {
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let anchor: TrustAnchor;

  before(async () => {
    [ca, otherCa] = await Promise.all([CertificateAuthority.create(), CertificateAuthority.create('other CA')]);
    anchor = new TrustAnchor(ca.certPem);
  });

  describe('keys', () => {
    it('round-trips a P-256 private key through PKCS#8 PEM', () => {
      const key = generateKeyPair();
      const pem = privateKeyToPem(key);
      assert.match(pem, /^-----BEGIN PRIVATE KEY-----/);
      assert.ok(loadPrivateKey(pem).equals(key));
    });

    it('refuses garbage and keys of another type', () => {
      assert.throws(() => loadPrivateKey('not a key'), /not a usable PEM private key/);
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
      assert.throws(() => loadPrivateKey(privateKeyToPem(p384)), /expected EC P-256/);
    });
  });

  describe('CertificateAuthority', () => {
    it('creates a self-signed CA and loads it back from PEM', async () => {
      const cert = new X509Certificate(ca.certPem);
      assert.equal(cert.ca, true);
      assert.equal(cert.subject, 'CN=vxgossip cluster CA');
      assert.equal(ca.fingerprint, certificateFingerprint(ca.certPem));
      assert.deepEqual(anchor.fingerprints, [ca.fingerprint]);

      const loaded = CertificateAuthority.fromPem(ca.certPem, ca.keyPem);
      assert.equal(loaded.fingerprint, ca.fingerprint);
      const { pem } = await issue(loaded, 'node', 'h1');
      assert.equal(anchor.verify(pem).name, 'h1');
    });

    it('refuses a key that is not the CA certificate key, and a certificate that is not a CA', async () => {
      assert.throws(() => CertificateAuthority.fromPem(ca.certPem, otherCa.keyPem), /does not match/);
      assert.throws(() => CertificateAuthority.fromPem(ca.certPem, 'garbage'), /not a usable PEM private key/);
      const { key, pem } = await issue(ca, 'node', 'h1');
      assert.throws(() => CertificateAuthority.fromPem(pem, privateKeyToPem(key)), /is not a CA/);
      assert.throws(() => CertificateAuthority.fromPem('garbage', ca.keyPem), /not a PEM certificate/);
    });

    it('issues a node certificate carrying its VTEP addresses', async () => {
      const ips = ['10.0.0.1', 'FD00:0:0::1', '::ffff:192.0.2.1'];
      const { key, pem } = await issue(ca, 'node', 'h1', { ips });
      const id = anchor.verify(pem);
      assert.equal(id.role, 'node');
      assert.equal(id.name, 'h1');
      assert.deepEqual(id.ips, ['10.0.0.1', 'fd00::1', '::ffff:c000:201']);
      assert.deepEqual(id.dnsNames, []);
      assert.ok(id.publicKey.equals(createPublicKey(key)));
      assert.equal(id.fingerprint, certificateFingerprint(pem));
      assert.ok(id.der.equals(new X509Certificate(pem).raw));
      assert.match(id.serial, /^[0-9a-f]{32}$/);
      assert.equal(id.notAfterMs - id.notBeforeMs, HOUR);
    });

    it('gives servers serverAuth and clientAuth, everyone else clientAuth only', async () => {
      const serverAuth = '1.3.6.1.5.5.7.3.1';
      const clientAuth = '1.3.6.1.5.5.7.3.2';
      const server = await issue(ca, 'server', 'api', { dnsNames: ['api.example'], ips: ['127.0.0.1'] });
      assert.deepEqual(new X509Certificate(server.pem).keyUsage.sort(), [serverAuth, clientAuth]);
      assert.deepEqual(anchor.verify(server.pem).dnsNames, ['api.example']);
      const operator = await issue(ca, 'operator', 'alice');
      assert.deepEqual(new X509Certificate(operator.pem).keyUsage, [clientAuth]);
      assert.equal(new X509Certificate(operator.pem).subjectAltName, undefined);
    });

    it('starts validity at the given time rounded up to a whole second, never earlier', async () => {
      const given = new Date(Math.floor(Date.now() / 1000) * 1000 - 10 * HOUR + 400);
      const explicit = anchor.verify((await issue(ca, 'node', 'h1', { notBefore: given })).pem, given.getTime() + 1000);
      assert.equal(explicit.notBeforeMs, given.getTime() + 600);
      const before = Date.now();
      const now = anchor.verify((await issue(ca, 'node', 'h1')).pem);
      assert.ok(now.notBeforeMs >= before && now.notBeforeMs % 1000 === 0);
    });

    it('refuses bad names, roles, addresses, keys and lifetimes', async () => {
      const publicKey = createPublicKey(generateKeyPair());
      const spec = { role: 'node' as Role, name: 'h1', publicKey, validForMs: HOUR };
      await assert.rejects(ca.issue({ ...spec, name: 'h 1' }), /name/);
      await assert.rejects(ca.issue({ ...spec, role: 'admin' as Role }), /role/);
      await assert.rejects(ca.issue({ ...spec, ips: ['10.0.0.256'] }), /not an IPv4 or IPv6/);
      await assert.rejects(ca.issue({ ...spec, ips: ['fe80::1%eth0'] }), /zone index/);
      await assert.rejects(ca.issue({ ...spec, dnsNames: ['bad_name.example'] }), /not a host name/);
      await assert.rejects(ca.issue({ ...spec, publicKey: generateKeyPair() }), /public key/);
      await assert.rejects(ca.issue({ ...spec, validForMs: 0 }), /validForMs/);
      assert.equal(subjectName('operator', 'alice'), 'CN=operator:alice');
    });
  });

  describe('TrustAnchor', () => {
    it('accepts PEM or DER, and a bundle of several CAs', async () => {
      const mine = await issue(ca, 'node', 'h1');
      const theirs = await issue(otherCa, 'node', 'h2');
      const both = new TrustAnchor(ca.certPem + otherCa.certPem);
      assert.equal(both.verify(new X509Certificate(mine.pem).raw).name, 'h1');
      assert.equal(both.verify(theirs.pem).name, 'h2');
      assert.deepEqual(both.fingerprints, [ca.fingerprint, otherCa.fingerprint]);
      assert.throws(() => new TrustAnchor('no certificates here'), /no CA certificate/);
    });

    it('refuses a certificate from another CA as untrusted', async () => {
      const { pem } = await issue(otherCa, 'node', 'h1');
      assert.throws(() => anchor.verify(pem), problem('untrusted'));
    });

    it('refuses expired and not-yet-valid certificates, allowing a minute of clock skew', async () => {
      const { pem } = await issue(ca, 'node', 'h1', { notBefore: new Date(Date.now() - 3 * HOUR) });
      assert.throws(() => anchor.verify(pem), problem('expired'));
      const future = new Date(Date.now() + HOUR);
      const later = await issue(ca, 'node', 'h1', { notBefore: future });
      assert.throws(() => anchor.verify(later.pem), problem('not-yet-valid'));
      const id = anchor.verify(later.pem, future.getTime() + 1000);
      assert.doesNotThrow(() => anchor.verify(later.pem, id.notBeforeMs - 30_000));
      assert.doesNotThrow(() => anchor.verify(later.pem, id.notAfterMs + 30_000));
      assert.throws(() => anchor.verify(later.pem, id.notAfterMs + 90_000), problem('expired'));
    });

    it('re-checks validity on every call when the certificate is cached', async () => {
      const { pem } = await issue(ca, 'node', 'h1', { ips: ['10.0.0.1'] });
      const first = anchor.verify(pem);
      first.ips.push('10.0.0.2');
      first.der.fill(0);
      assert.throws(() => anchor.verify(pem, Date.now() + 2 * HOUR), problem('expired'));
      const again = anchor.verify(pem);
      assert.deepEqual(again.ips, ['10.0.0.1']);
      assert.equal(again.fingerprint, certificateFingerprint(again.der));
    });

    it('refuses subjects that are not <role>:<name>', async () => {
      for (const subject of ['CN=h1', 'CN=admin:h1', 'CN=node:bad name', 'CN=node:h1, O=vxgossip']) {
        const pem = await signedByCa(ca, subject);
        assert.throws(() => anchor.verify(pem), problem('bad-subject'), subject);
      }
      assert.throws(() => anchor.verify(ca.certPem), problem('bad-subject'));
    });

    it('refuses garbage, oversized and ambiguous input as malformed', async () => {
      const { pem } = await issue(ca, 'node', 'h1');
      const der = new X509Certificate(pem).raw;
      const inputs: (string | Buffer)[] = [
        'garbage',
        Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]),
        toPem(Buffer.from('not a certificate'), 'CERTIFICATE'),
        pem + pem,
        'x'.repeat(17 * 1024),
        Buffer.concat([der, Buffer.of(0)]),
      ];
      for (const input of inputs) assert.throws(() => anchor.verify(input), problem('malformed'));
      assert.throws(() => certificateFingerprint('garbage'), problem('malformed'));
    });
  });

  describe('certificate requests', () => {
    it('round-trips the key and subject, proving possession of the key', async () => {
      const key = generateKeyPair();
      const csr = await createCertificateRequest(key, 'node', 'h1');
      assert.match(csr, /^-----BEGIN CERTIFICATE REQUEST-----/);
      const read = await readCertificateRequest(csr);
      assert.equal(read.subject, 'CN=node:h1');
      assert.ok(read.publicKey.equals(createPublicKey(key)));
      const pem = await ca.issue({ role: 'node', name: 'h1', publicKey: read.publicKey, validForMs: HOUR });
      assert.equal(anchor.verify(pem).role, 'node');
    });

    it('refuses a tampered signature, another key type, garbage and oversized input', async () => {
      const csr = await createCertificateRequest(generateKeyPair(), 'node', 'h1');
      const der = Buffer.from(csr.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
      der[der.length - 1] ^= 1;
      await assert.rejects(readCertificateRequest(toPem(der, 'CERTIFICATE REQUEST')), problem('malformed'));

      const p384 = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']);
      const other = await x509().Pkcs10CertificateRequestGenerator.create({
        name: 'CN=node:h1',
        keys: p384,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
      });
      await assert.rejects(readCertificateRequest(other.toString('pem')), /not EC P-256/);
      await assert.rejects(readCertificateRequest('garbage'), problem('malformed'));
      await assert.rejects(
        readCertificateRequest(toPem(Buffer.alloc(40), 'CERTIFICATE REQUEST')),
        problem('malformed'),
      );
      await assert.rejects(readCertificateRequest(csr + 'x'.repeat(16 * 1024)), problem('malformed'));
      await assert.rejects(createCertificateRequest(generateKeyPair(), 'node', 'h/1'), /name/);
    });
  });

  describe('signatures', () => {
    const key = generateKeyPair();
    const publicKey = createPublicKey(key);
    const payload = Buffer.from('record bytes');

    it('verifies a 64-byte signature for the same domain and payload only', () => {
      const sig = signPayload(key, 'vxgossip/records/v1', payload);
      assert.equal(sig.length, 64);
      assert.equal(verifyPayload(publicKey, 'vxgossip/records/v1', payload, sig), true);
      assert.equal(verifyPayload(publicKey, 'vxgossip/config/v1', payload, sig), false);
      assert.equal(verifyPayload(publicKey, 'vxgossip/records/v1', Buffer.from('record byteS'), sig), false);
      assert.equal(verifyPayload(createPublicKey(generateKeyPair()), 'vxgossip/records/v1', payload, sig), false);
    });

    it('returns false for a signature of the wrong length; refuses bad domains and other curves', () => {
      const sig = signPayload(key, 'd', payload);
      for (const bad of [Buffer.alloc(0), sig.subarray(0, 63), Buffer.concat([sig, Buffer.of(0)])]) {
        assert.equal(verifyPayload(publicKey, 'd', payload, bad), false);
      }
      assert.throws(() => signPayload(key, 'a\0b', payload), /NUL/);
      assert.throws(() => signPayload(key, '', payload), /non-empty/);
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
      assert.throws(() => signPayload(p384, 'd', payload), /expected an EC P-256 key/);
    });
  });

  describe('TLS', () => {
    it('authenticates both ends of a handshake with certificates the CA issued', async () => {
      // OpenSSL allows no clock skew, and a notBefore rounded up to the next second would make a
      // handshake in this same second fail.
      const notBefore = new Date(Date.now() - 60_000);
      const server = await issue(ca, 'server', 'api', { ips: ['127.0.0.1'], notBefore });
      const client = await issue(ca, 'node', 'h1', { ips: ['10.0.0.1'], notBefore });
      const listener = tls.createServer({
        cert: server.pem,
        key: privateKeyToPem(server.key),
        ca: ca.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      });
      const accepted = new Promise<Buffer>((resolve, reject) => {
        listener.once('secureConnection', (socket: tls.TLSSocket) => {
          resolve(socket.getPeerCertificate().raw);
          socket.end();
        });
        listener.once('tlsClientError', reject);
      });
      listener.listen(0, '127.0.0.1');
      await once(listener, 'listening');
      try {
        const socket = tls.connect({
          host: '127.0.0.1',
          port: (listener.address() as AddressInfo).port,
          ca: ca.certPem,
          cert: client.pem,
          key: privateKeyToPem(client.key),
        });
        await once(socket, 'secureConnect');
        assert.equal(socket.authorized, true);
        assert.equal(anchor.verify(socket.getPeerCertificate().raw).role, 'server');
        const peer = anchor.verify(await accepted);
        assert.deepEqual([peer.role, peer.name, peer.ips], ['node', 'h1', ['10.0.0.1']]);
        socket.destroy();
      } finally {
        listener.close();
      }
    });
  });
});
