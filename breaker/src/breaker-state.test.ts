import {
  compareWritten,
  INITIAL_STATE,
  parseScriptReply,
  parseSharedState,
  parseStateMessage,
  sameTerm,
} from './breaker-state';

describe('the order of states Redis wrote', () => {
  const state = (writtenAt: number, version: number) => ({
    ...INITIAL_STATE,
    writtenAt,
    version,
  });

  it('orders by write time, then version, so a copy written back is older', () => {
    expect(compareWritten(state(10, 5), state(11, 1))).toBeLessThan(0);
    expect(compareWritten(state(11, 2), state(11, 1))).toBeGreaterThan(0);
    // After Redis went back to version 2 and wrote again, versions repeat; write times do not.
    expect(compareWritten(state(20, 3), state(11, 3))).toBeGreaterThan(0);
    expect(compareWritten(state(0, 0), state(11, 3))).toBeLessThan(0);
  });
});

describe('terms', () => {
  it('let outcomes from before the hash existed count in the incarnation it grew into, never back', () => {
    expect(sameTerm({ incarnation: 0, epoch: 0 }, { incarnation: 9, epoch: 0 })).toBe(true);
    expect(sameTerm({ incarnation: 9, epoch: 0 }, { incarnation: 0, epoch: 0 })).toBe(false);
    expect(sameTerm({ incarnation: 9, epoch: 0 }, { incarnation: 7, epoch: 0 })).toBe(false);
    expect(sameTerm({ incarnation: 9, epoch: 1 }, { incarnation: 9, epoch: 2 })).toBe(false);
  });
});

describe('parsing a state from Redis', () => {
  it('refuses what is not a breaker state', () => {
    expect(() => parseSharedState({ state: 'ajar' })).toThrow('unknown breaker state ajar');
    expect(() => parseSharedState({ state: 'open', epoch: 'x' })).toThrow('epoch');
    expect(parseSharedState({ state: 'half_open', probeOwner: 'r#1' })).toMatchObject({
      state: 'half_open',
      probeOwner: 'r#1',
      epoch: 0,
    });
  });
});

describe('parsing messages and replies', () => {
  const state = { state: 'open', epoch: 2, version: 3, writtenAt: '1700000000000001' };

  it('takes the reasons the store gives, and the operator words as the note', () => {
    const message = parseStateMessage(
      JSON.stringify({
        state,
        now: 5,
        from: 'closed',
        reason: 'isolated by an operator',
        note: 'maintenance',
      }),
    );
    expect(message).toMatchObject({
      now: 5,
      from: 'closed',
      reason: 'isolated by an operator',
      note: 'maintenance',
    });
    expect(message.state.writtenAt).toBe(1_700_000_000_000_001);
  });

  it('never takes what only a replica says, or words, for a reason', () => {
    const replicaOnly = parseStateMessage(
      JSON.stringify({ state, now: 5, reason: 'store unavailable' }),
    );
    expect(replicaOnly.reason).toBeUndefined();
    // An older store put the operator's words where the reason goes: they become the note.
    const words = parseScriptReply(JSON.stringify({ state, now: 5, reason: 'deploying v2' }));
    expect(words).toMatchObject({ note: 'deploying v2' });
    expect(words.reason).toBeUndefined();
  });

  it('keeps only the reply fields with their types', () => {
    const reply = parseScriptReply(
      JSON.stringify({ state, now: 5, granted: true, stale: 'yes', decideAt: 99, from: 'nowhere' }),
    );
    expect(reply).toEqual({ state: expect.any(Object), now: 5, granted: true, decideAt: 99 });
    expect(() => parseScriptReply('[]')).toThrow();
    expect(() => parseScriptReply(JSON.stringify({ state: { state: 'ajar' }, now: 1 }))).toThrow(
      'unknown breaker state',
    );
  });
});
