import { LabError } from '../stack';
import { isolationMs, replicaIdsOf, scopeOf } from './fault';

describe('the scope of lab fault', () => {
  it('is every caller when neither --replica nor --share is given', () => {
    expect(scopeOf(undefined, undefined)).toBeUndefined();
  });

  it('takes replica ids repeated or comma-separated, each once', () => {
    expect(scopeOf(['p-1,p-2', 'p-3', 'p-1'], undefined)).toEqual({
      replicas: ['p-1', 'p-2', 'p-3'],
    });
  });

  it('takes a share above 0 up to 1', () => {
    expect(scopeOf(undefined, '0.5')).toEqual({ share: 0.5 });
  });

  it.each<[string, string[] | undefined, string | undefined, string]>([
    ['both', ['p-1'], '0.5', 'give --replica or --share, not both'],
    ['a share of 0', undefined, '0', '--share: expected a share above 0'],
    ['a share above 1', undefined, '2', '--share: expected a number from 0 to 1 (got "2")'],
    ['a malformed id', ['p 1'], undefined, '--replica: expected a replica id'],
    ['an empty id', ['p-1,'], undefined, '--replica: expected a replica id'],
  ])('refuses %s with a clear message', (_what, replicas, share, message) => {
    expect(() => scopeOf(replicas, share)).toThrow(LabError);
    expect(() => scopeOf(replicas, share)).toThrow(message);
  });
});

describe('lab fault --replica', () => {
  const ids: Record<string, string> = {
    'http://localhost:8081': '3f2a9c1b7d4e',
    'http://localhost:8082': '9e8d7c6b5a41',
  };
  const askId = (url: string) => Promise.resolve(ids[url] ?? `unknown ${url}`);

  it('takes ids as given, and asks each address for the id of the replica answering there', async () => {
    expect(await replicaIdsOf(undefined, askId)).toBeUndefined();
    expect(
      await replicaIdsOf(['p-1,http://localhost:8081/', 'http://localhost:8082'], askId),
    ).toEqual(['p-1', '3f2a9c1b7d4e', '9e8d7c6b5a41']);
  });
});

describe('lab breaker isolate --for', () => {
  it('takes a duration from one second to a week', () => {
    expect(isolationMs('5m')).toBe(300_000);
    expect(isolationMs('1s')).toBe(1_000);
    expect(isolationMs('7d')).toBe(7 * 86_400_000);
  });

  it.each(['500ms', '8d', 'soon'])('refuses %s with a clear message', (text) => {
    expect(() => isolationMs(text)).toThrow(LabError);
  });
});
