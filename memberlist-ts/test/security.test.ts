import { strict as assert } from 'node:assert';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { Keyring, KeyringError } from '../src/keyring';
import { DecodeError, encodeAlive } from '../src/messages';
import { PacketSecurity, openPacket, sealPacket } from '../src/packet';
import { DecryptError, decrypt, encrypt, encryptedLength } from '../src/security';

const key16 = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const key24 = Buffer.alloc(24, 0x24);
const key32 = Buffer.alloc(32, 0x32);

describe('security: AES-GCM framing', () => {
  for (const version of [0, 1] as const) {
    for (const key of [key16, key24, key32]) {
      it(`encrypts and decrypts v${version} with a ${key.length}-byte key`, () => {
        const ring = new Keyring([key]);
        for (const n of [0, 1, 15, 16, 17, 31, 32, 100, 1400]) {
          const plain = randomBytes(n);
          const sealed = encrypt(version, key, plain);
          assert.equal(sealed[0], version);
          assert.equal(sealed.length, encryptedLength(version, n), `length for ${n} bytes`);
          assert.deepEqual(decrypt(ring, sealed), plain);
        }
      });
    }
  }

  it('has the documented overheads: v1 adds 29 bytes, v0 pads to 16 (1..16 bytes) and adds 45 at most', () => {
    assert.equal(encryptedLength(1, 0), 29);
    assert.equal(encryptedLength(1, 100), 129);
    assert.equal(encryptedLength(0, 0), 45);
    assert.equal(encryptedLength(0, 15), 1 + 12 + 16 + 16);
    assert.equal(encryptedLength(0, 16), 1 + 12 + 32 + 16);
  });

  it('v0 pads PKCS#7-style inside the ciphertext', () => {
    const sealed = encrypt(0, key16, Buffer.from('abc'));
    const d = createDecipheriv('aes-128-gcm', key16, sealed.subarray(1, 13));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    const inner = Buffer.concat([d.update(sealed.subarray(13, sealed.length - 16)), d.final()]);
    assert.deepEqual(inner, Buffer.concat([Buffer.from('abc'), Buffer.alloc(13, 13)]));
  });

  it('uses a fresh nonce each time', () => {
    const a = encrypt(1, key16, Buffer.from('same'));
    const b = encrypt(1, key16, Buffer.from('same'));
    assert.notDeepEqual(a.subarray(1, 13), b.subarray(1, 13));
  });

  it('authenticates the additional data: a mismatch fails', () => {
    const ring = new Keyring([key16]);
    const aad = Buffer.from([10, 0, 0, 0, 50]);
    const sealed = encrypt(1, key16, Buffer.from('payload'), aad);
    assert.deepEqual(decrypt(ring, sealed, aad), Buffer.from('payload'));
    assert.throws(() => decrypt(ring, sealed, Buffer.from([10, 0, 0, 0, 51])), DecryptError);
    assert.throws(() => decrypt(ring, sealed), DecryptError);
    const noAad = encrypt(1, key16, Buffer.from('payload'));
    assert.throws(() => decrypt(ring, noAad, aad), DecryptError);
    // An empty AAD is the same as none (memberlist 0.3's empty label).
    assert.deepEqual(decrypt(ring, noAad, Buffer.alloc(0)), Buffer.from('payload'));
  });

  it('a wrong key fails with DecryptError', () => {
    const sealed = encrypt(1, key16, Buffer.from('secret'));
    assert.throws(() => decrypt(new Keyring([Buffer.alloc(16, 9)]), sealed), DecryptError);
    const sealed0 = encrypt(0, key32, Buffer.from('secret'));
    assert.throws(() => decrypt(new Keyring([Buffer.alloc(32, 9)]), sealed0), DecryptError);
  });

  it('tampering anywhere fails with DecryptError', () => {
    const ring = new Keyring([key16]);
    const sealed = encrypt(1, key16, Buffer.from('hello world, tamper with me'));
    for (let i = 1; i < sealed.length; i++) {
      const t = Buffer.from(sealed);
      t[i] ^= 0x01;
      assert.throws(() => decrypt(ring, t), DecryptError, `byte ${i}`);
    }
    // Flipping the version byte 1 -> 0 makes the padding check or the tag fail, never a crash.
    const t = Buffer.from(sealed);
    t[0] = 0;
    assert.throws(() => decrypt(ring, t), DecryptError);
  });

  it('rejects short messages and unknown versions', () => {
    const ring = new Keyring([key16]);
    assert.throws(() => decrypt(ring, Buffer.alloc(0)), DecryptError);
    assert.throws(() => decrypt(ring, Buffer.alloc(28)), DecryptError);
    const sealed = encrypt(1, key16, Buffer.from('x'));
    sealed[0] = 2;
    assert.throws(() => decrypt(ring, sealed), DecryptError);
    // 29 bytes of v1 with a random tag: not a crash, a DecryptError.
    assert.throws(() => decrypt(ring, Buffer.concat([Buffer.from([1]), randomBytes(28)])), DecryptError);
  });
});

describe('security: keyring', () => {
  it('rejects invalid key sizes', () => {
    for (const n of [0, 1, 8, 15, 17, 20, 31, 33, 64]) {
      assert.throws(() => new Keyring([Buffer.alloc(n)]), KeyringError, `${n} bytes`);
    }
    const ring = new Keyring([key16]);
    assert.throws(() => ring.install(Buffer.alloc(10)), KeyringError);
    assert.throws(() => new Keyring([key16], Buffer.alloc(5)), KeyringError);
  });

  it('needs at least one key', () => {
    assert.throws(() => new Keyring([]), KeyringError);
  });

  it('the first key is primary; a primary argument is installed and used', () => {
    const ring = new Keyring([key16, key24]);
    assert.deepEqual(ring.primary, key16);
    const ring2 = new Keyring([key16], key32);
    assert.deepEqual(ring2.primary, key32);
    assert.equal(ring2.all().length, 2);
    const ring3 = new Keyring([], key32);
    assert.deepEqual(ring3.all(), [key32]);
  });

  it('fromBase64 decodes keys', () => {
    const ring = Keyring.fromBase64([key32.toString('base64'), key16.toString('base64')]);
    assert.deepEqual(ring.all(), [key32, key16]);
  });

  it('install adds a key once, use makes it primary, use of an unknown key fails', () => {
    const ring = new Keyring([key16]);
    ring.install(key32);
    ring.install(key32);
    assert.equal(ring.all().length, 2);
    assert.deepEqual(ring.primary, key16);
    assert.throws(() => ring.use(key24), KeyringError);
    ring.use(key32);
    assert.deepEqual(ring.primary, key32);
    assert.deepEqual(ring.all(), [key32, key16]);
  });

  it('the primary key cannot be removed; others can, and removing an unknown key is a no-op', () => {
    const ring = new Keyring([key16, key32]);
    assert.throws(() => ring.remove(key16), KeyringError);
    ring.remove(key24);
    assert.equal(ring.all().length, 2);
    ring.remove(key32);
    assert.deepEqual(ring.all(), [key16]);
    assert.throws(() => ring.remove(key16), KeyringError);
  });

  it('keeps its own copy of keys (callers mutating their buffers change nothing)', () => {
    const k = Buffer.from(key16);
    const ring = new Keyring([k]);
    k.fill(0);
    assert.deepEqual(ring.primary, key16);
    const all = ring.all();
    all.pop();
    assert.equal(ring.all().length, 1);
  });

  it('a second installed key still decrypts, and rotation works end to end', () => {
    const oldKey = key16;
    const newKey = key32;
    const sender = new Keyring([oldKey]);
    const receiver = new Keyring([oldKey]);
    receiver.install(newKey);
    // Old primary still encrypts on the sender; receiver decrypts with its primary.
    assert.deepEqual(decrypt(receiver, encrypt(1, sender.primary, Buffer.from('one'))), Buffer.from('one'));
    // Sender switches to the new key; the receiver has it installed as a secondary.
    sender.install(newKey);
    sender.use(newKey);
    assert.deepEqual(decrypt(receiver, encrypt(1, sender.primary, Buffer.from('two'))), Buffer.from('two'));
    // Receiver removes the old key only after using the new one.
    receiver.use(newKey);
    receiver.remove(oldKey);
    assert.throws(() => decrypt(receiver, encrypt(1, oldKey, Buffer.from('three'))), DecryptError);
    assert.deepEqual(decrypt(receiver, encrypt(0, newKey, Buffer.from('four'))), Buffer.from('four'));
  });
});

describe('security: packets', () => {
  const ALIVE = encodeAlive({
    incarnation: 1,
    node: 'n',
    addr: Buffer.from([127, 0, 0, 1]),
    port: 1,
    meta: Buffer.alloc(0),
    vsn: [1, 5, 2, 0, 0, 0],
  });

  it('seals and opens an encrypted packet with CRC and compression, with no AAD', () => {
    const security: PacketSecurity = { keyring: new Keyring([key16]), encryptionVersion: 1, verifyIncoming: true };
    const sealed = sealPacket(ALIVE, { compress: true, crc: true, security });
    // UDP encryption uses no AAD.
    const plain = decrypt(new Keyring([key16]), sealed);
    assert.equal(plain[0], 12);
    assert.deepEqual(openPacket(sealed, security), ALIVE);
    const v0: PacketSecurity = { ...security, encryptionVersion: 0 };
    const sealed0 = sealPacket(ALIVE, { compress: false, crc: false, security: v0 });
    assert.equal(sealed0[0], 0);
    assert.deepEqual(openPacket(sealed0, security), ALIVE);
  });

  it('drops a packet that does not decrypt when verifyIncoming, and reads it as plaintext otherwise', () => {
    const strict: PacketSecurity = { keyring: new Keyring([key16]), encryptionVersion: 1, verifyIncoming: true };
    const lax: PacketSecurity = { ...strict, verifyIncoming: false };
    assert.throws(() => openPacket(ALIVE, strict), DecryptError);
    assert.deepEqual(openPacket(ALIVE, lax), ALIVE);
    const wrongKey = sealPacket(ALIVE, {
      compress: false,
      crc: false,
      security: { ...strict, keyring: new Keyring([key32]) },
    });
    assert.throws(() => openPacket(wrongKey, strict), DecryptError);
  });

  it('a packet whose decryption yields a bad CRC is dropped', () => {
    const ring = new Keyring([key16]);
    const security: PacketSecurity = { keyring: ring, encryptionVersion: 1, verifyIncoming: true };
    const bad = Buffer.concat([Buffer.from([12, 0, 0, 0, 0]), ALIVE]);
    assert.throws(() => openPacket(encrypt(1, key16, bad), security), DecodeError);
  });
});
