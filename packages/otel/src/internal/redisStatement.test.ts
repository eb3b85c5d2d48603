import { redisStatement } from './redisStatement';

describe('redisStatement', () => {
  test('scripts keep the sha, the key count and the first key, never the arguments', () => {
    const value = '{"email":"alice@example.com"}';
    const s = redisStatement('EVALSHA', ['abc123', '3', 'k1', 'k2', 'k3', 'id', value, '60000']);
    expect(s).toBe('EVALSHA abc123 3 k1 [5 other arguments]');
    expect(s).not.toContain('alice');
    expect(redisStatement('EVAL', ["return redis.call('GET', KEYS[1])", '1', 'k', value])).toBe(
      'EVAL [script] 1 k [1 other arguments]',
    );
    expect(redisStatement('FCALL', ['myfn', '0', value])).toBe('FCALL myfn 0 [1 other arguments]');
    expect(redisStatement('EVALSHA', ['abc123', '0'])).toBe('EVALSHA abc123 0');
  });

  test("other commands follow upstream's rules: keys, not written values", () => {
    expect(redisStatement('SET', ['k', 'secret'])).toBe('SET k [1 other arguments]');
    expect(redisStatement('GET', ['k'])).toBe('GET k');
    expect(redisStatement('AUTH', ['hunter2'])).toBe('AUTH [1 other arguments]');
    expect(redisStatement('PING', [])).toBe('PING');
  });
});
