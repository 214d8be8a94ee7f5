import { strict as assert } from 'node:assert';
import { MAX_SERVERS, parseServerList } from '../../../common/server-list';
import { ValidationError } from '../../../common/validation';

const refused = (value: string, pattern: RegExp) =>
  assert.throws(
    () => parseServerList('--server', value),
    (err: unknown) => err instanceof ValidationError && err.field === '--server' && pattern.test(err.message),
  );

describe('server list (--server HOST:PORT,...)', () => {
  it('takes one address or several, in order, spaces around commas ignored', () => {
    assert.deepEqual(parseServerList('--server', '127.0.0.1:50051'), ['127.0.0.1:50051']);
    assert.deepEqual(parseServerList('--server', '198.18.0.2:50051, [2001:db8::1]:50051,ctl.example:1'), [
      '198.18.0.2:50051',
      '[2001:db8::1]:50051',
      'ctl.example:1',
    ]);
  });

  it('names the address that is wrong', () => {
    refused('198.18.0.1:50051,198.18.0.2', /"198\.18\.0\.2" has no port/);
    refused('198.18.0.1:50051,198.18.0.2:70000', /65535/);
    refused('198.18.0.1:50051,,198.18.0.2:50051', /address 2 of .* is empty/);
    refused('198.18.0.1:50051,198.18.0.1:50051', /"198\.18\.0\.1:50051" is listed twice/);
  });

  it(`refuses more than ${MAX_SERVERS} addresses`, () => {
    const many = Array.from({ length: MAX_SERVERS + 1 }, (_, i) => `198.18.0.${i + 1}:50051`).join(',');
    refused(many, new RegExp(`${MAX_SERVERS + 1} addresses; give at most ${MAX_SERVERS}`));
  });

  it('turns each address into a target as the client asks', () => {
    assert.deepEqual(
      parseServerList('--server', 'https://198.18.0.1:50051,198.18.0.2:50051', (a) => a.replace(/^https:\/\//, '')),
      ['198.18.0.1:50051', '198.18.0.2:50051'],
    );
  });
});
