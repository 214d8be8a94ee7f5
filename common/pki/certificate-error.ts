// Why a certificate was refused, as a value callers can branch on (log, metric, which advice to give).
export type CertificateProblem = 'malformed' | 'untrusted' | 'expired' | 'not-yet-valid' | 'bad-subject';

export class CertificateError extends Error {
  constructor(
    readonly problem: CertificateProblem,
    message: string,
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}
