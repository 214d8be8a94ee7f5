import { strict as assert } from 'node:assert';
import { PeerCertificates } from '../../../node-agent/trust/peer-certificates';
import { Revocations } from '../../../common/trust/revocations';
import { TestPki } from '../../helpers/test-pki';

describe('peer certificates', () => {
  let pki: TestPki;
  before(async () => {
    pki = await TestPki.create();
  });

  it('keeps what the CA certified for a node, refuses the rest by reason', async () => {
    const certs = new PeerCertificates(pki.anchor);
    const h1 = await pki.node('h1', ['198.18.0.11']);
    const learned = certs.learn(h1.certificateDer);
    assert.equal(typeof learned === 'string' ? learned : learned.name, 'h1');
    assert.equal(certs.learn(Buffer.from('garbage')), 'malformed');
    const foreign = await (await TestPki.create()).node('h1', ['198.18.0.11']);
    assert.equal(certs.learn(foreign.certificateDer), 'untrusted-certificate');
    assert.equal(certs.lookup('h1', foreign.fingerprint), 'unknown-certificate');
    assert.equal(
      certs.lookup('h2', h1.fingerprint),
      'untrusted-certificate',
      'a certificate of h1 does not speak for h2',
    );
  });

  it('holds at most four certificates per node, the latest-expiring ones', async () => {
    const certs = new PeerCertificates(pki.anchor);
    const issued = [];
    for (let i = 0; i < 6; i++) {
      const s = await pki.node('h1', ['198.18.0.11'], new Date(Date.now() - 60_000 + i * 1000));
      issued.push(s);
      certs.learn(s.certificateDer);
    }
    const kept = issued.filter((s) => typeof certs.lookup('h1', s.fingerprint) !== 'string');
    assert.equal(kept.length, 4);
    assert.ok(kept.includes(issued[5]));
    assert.equal(certs.lookup('h1', issued[0].fingerprint), 'unknown-certificate');
  });

  it('forgets revoked certificates, and trusts one issued after the revocation', async () => {
    const certs = new PeerCertificates(pki.anchor);
    const old = await pki.node('h1', ['198.18.0.11'], new Date(Date.now() - 60_000));
    certs.learn(old.certificateDer);
    assert.deepEqual(certs.setRevocations(new Revocations([{ node: 'h1', revokedAtMs: Date.now() - 30_000 }])), ['h1']);
    assert.equal(certs.lookup('h1', old.fingerprint), 'unknown-certificate');
    assert.equal(certs.learn(old.certificateDer), 'revoked');
    const fresh = await pki.node('h1', ['198.18.0.11'], new Date(Date.now() - 10_000));
    assert.notEqual(typeof certs.learn(fresh.certificateDer), 'string');
  });
});
