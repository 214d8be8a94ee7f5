export { CertificateAuthority, IssueSpec } from './certificate-authority';
export { CertificateError, CertificateProblem } from './certificate-error';
export { createCertificateRequest, readCertificateRequest } from './certificate-request';
export { Identity, Role, canonicalIp, certificateFingerprint, subjectName } from './identity';
export { generateKeyPair, loadPrivateKey, privateKeyToPem } from './key-pair';
export { signPayload, verifyPayload } from './signature';
export { TrustAnchor } from './trust-anchor';
