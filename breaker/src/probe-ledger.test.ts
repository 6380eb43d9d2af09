import { ProbeLedger } from './probe-ledger';

describe('the probe ledger', () => {
  let now = 1_000;
  const ledger = () => new ProbeLedger('replica-1', 3_000, () => now);

  it('says nothing to send while the probe runs, then its verdict, once', () => {
    const probes = ledger();
    const token = probes.newToken();
    expect(probes.owns(token)).toBe(true);
    expect(probes.startRelease(token)).toBeUndefined();
    probes.running(token);
    expect(probes.startRelease(token)).toBeUndefined();
    probes.finished(token, 'success');
    expect(probes.startRelease(token)).toBe('success');
    expect(probes.startRelease(token)).toBeUndefined(); // already on its way
    probes.releaseFailed(token);
    expect(probes.startRelease(token)).toBe('success'); // sent again
    probes.forget(token);
    expect(probes.size).toBe(0);
  });

  it('gives back a lease of its own that it no longer knows, and ignores others’', () => {
    const probes = ledger();
    const token = probes.newToken();
    probes.forget(token);
    expect(probes.startRelease(token)).toBe('abandon');
    expect(probes.startRelease(ledger().newToken())).toBeUndefined();
  });

  it('forgets finished probes once no lease of theirs can come back', () => {
    const probes = ledger();
    const token = probes.newToken();
    probes.finished(token, 'failure');
    now += 7_000;
    probes.newToken();
    expect(probes.size).toBe(1);
  });
});
