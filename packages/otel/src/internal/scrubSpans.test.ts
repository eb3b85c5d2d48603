import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { redactUrl } from './redactUrl';
import { scrubAttributes, scrubSpan } from './scrubSpans';

describe('redactUrl', () => {
  it.each([
    [
      'https://api.example.com/v1/items?token=abc&page=2',
      'https://api.example.com/v1/items?token=REDACTED&page=REDACTED',
    ],
    ['http://user:pass@db.local:5432/x', 'http://REDACTED:REDACTED@db.local:5432/x'],
    ['/search?q=private+thing#frag', '/search?q=REDACTED'],
    ['http://host/path', 'http://host/path'],
    ['http://host/path?flag', 'http://host/path?flag=REDACTED'],
    ['http://a@b.c/?x=1&&y', 'http://REDACTED:REDACTED@b.c/?x=REDACTED&&y=REDACTED'],
  ])('%s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});

describe('scrubAttributes', () => {
  it('redacts URLs, queries, sensitive headers and SQL literals; leaves the rest', () => {
    const attrs: Attributes = {
      'url.full': 'https://x.io/a?api_key=k',
      'url.query': 'email=a@b.c',
      'http.target': '/a?b=c',
      'http.request.header.authorization': ['Bearer t'],
      'http.request.header.x_api_key': ['k'],
      'http.response.header.set-cookie': ['sid=1'],
      'http.request.header.x-session-token': ['s'],
      'http.request.header.x-apitoken': ['a'],
      'http.request.header.sessionid': ['i'],
      'http.response.header.x_client_secret_v2': ['v'],
      'http.request.header.accept': ['text/html'],
      'db.system.name': 'postgresql',
      'db.query.text': "UPDATE users SET pw = 'hunter2' WHERE id = 7",
      'url.path': '/a',
    };
    scrubAttributes(attrs);
    expect(attrs).toEqual({
      'url.full': 'https://x.io/a?api_key=REDACTED',
      'url.query': 'email=REDACTED',
      'http.target': '/a?b=REDACTED',
      'http.request.header.authorization': ['REDACTED'],
      'http.request.header.x_api_key': ['REDACTED'],
      'http.response.header.set-cookie': ['REDACTED'],
      'http.request.header.x-session-token': ['REDACTED'],
      'http.request.header.x-apitoken': ['REDACTED'],
      'http.request.header.sessionid': ['REDACTED'],
      'http.response.header.x_client_secret_v2': ['REDACTED'],
      'http.request.header.accept': ['text/html'],
      'db.system.name': 'postgresql',
      'db.query.text': 'UPDATE users SET pw = ? WHERE id = ?',
      'url.path': '/a',
    });
  });

  it('does not touch statements of non-SQL systems (redis statements are already masked upstream)', () => {
    const attrs: Attributes = { 'db.system.name': 'redis', 'db.query.text': 'GET user:42' };
    scrubAttributes(attrs);
    expect(attrs['db.query.text']).toBe('GET user:42');
  });
});

describe('scrubSpan', () => {
  const span = (events: ReadableSpan['events'], message?: string) =>
    ({ attributes: {}, events, status: { code: 2, message } }) as unknown as ReadableSpan;

  it('hides the quoted value of a data exception (SQLSTATE 22xxx) recorded on a server span', () => {
    const s = span(
      [
        {
          name: 'exception',
          time: [0, 0],
          attributes: {
            'exception.type': '22P02',
            'exception.message': 'invalid input syntax for type uuid: "a"b-secret"',
            'exception.stacktrace':
              'error: invalid input syntax for type uuid: "a"b-secret"\n    at Parser.parseErrorMessage (/app/node_modules/pg-protocol/dist/parser.js:285:98)',
          },
        },
      ],
      'invalid input syntax for type uuid: "a"b-secret"',
    );
    scrubSpan(s);
    expect(JSON.stringify(s)).not.toContain('secret');
    expect(s.status.message).toBe('invalid input syntax for type uuid: "?"');
    expect(s.events[0]?.attributes?.['exception.stacktrace']).toMatch(
      /^error: invalid input syntax for type uuid: "\?"\n {4}at Parser/,
    );
  });

  it('keeps the text of other errors (identifiers help debugging)', () => {
    const attributes = { 'exception.type': '42P01', 'exception.message': 'relation "users" does not exist' };
    const s = span([{ name: 'exception', time: [0, 0], attributes }], 'relation "users" does not exist');
    scrubSpan(s);
    expect(s.status.message).toBe('relation "users" does not exist');
    expect(attributes['exception.message']).toBe('relation "users" does not exist');
  });
});
