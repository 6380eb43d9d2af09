import { captureLogger, waitFor } from '@cb-lab/testing';
import { ReplicaBalancer, type LookupAll } from './replica-balancer';

const logger = captureLogger().logger;

function balancer(lookup: LookupAll, refreshMs = 60_000) {
  return new ReplicaBalancer({ url: 'http://payments:8080', refreshMs, logger, lookup });
}

const firstChoices = async (b: ReplicaBalancer, calls: number) => {
  const picks: string[] = [];
  for (let i = 0; i < calls; i += 1) picks.push((await b.replicas())[0] ?? '');
  return picks;
};

describe('ReplicaBalancer', () => {
  it('rotates over every resolved address, keeping the rest as fallbacks', async () => {
    const b = balancer(() => Promise.resolve(['10.0.0.3', '10.0.0.1', '10.0.0.2']));
    expect(await b.replicas()).toEqual([
      'http://10.0.0.1:8080',
      'http://10.0.0.2:8080',
      'http://10.0.0.3:8080',
    ]);
    expect(await firstChoices(b, 3)).toEqual([
      'http://10.0.0.2:8080',
      'http://10.0.0.3:8080',
      'http://10.0.0.1:8080',
    ]);
  });

  it('looks the name up again once the list is stale, without waiting for it', async () => {
    let answer = ['10.0.0.1'];
    const lookup = jest.fn(() => Promise.resolve(answer));
    const b = balancer(lookup, 0);
    expect(await b.replicas()).toEqual(['http://10.0.0.1:8080']);
    answer = ['10.0.0.1', '10.0.0.2'];
    await new Promise((resolve) => setTimeout(resolve, 5));
    await b.replicas(); // starts the refresh
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(new Set(await firstChoices(b, 4))).toEqual(
      new Set(['http://10.0.0.1:8080', 'http://10.0.0.2:8080']),
    );
  });

  it('once started, looks the name up again every refreshMs without a call, until stopped', async () => {
    let answer = ['10.0.0.1'];
    const lookup = jest.fn(() => Promise.resolve(answer));
    const b = balancer(lookup, 10);
    expect(await b.replicas()).toEqual(['http://10.0.0.1:8080']);
    b.start();
    // The replicas are recreated at new addresses while no call comes.
    answer = ['10.0.0.7'];
    await waitFor(() => lookup.mock.calls.length >= 3, 'two lookups without a call');
    await b.stop();
    // The first call after already goes to the new address.
    expect(await b.replicas()).toEqual(['http://10.0.0.7:8080']);
    const lookups = lookup.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(lookup.mock.calls.length).toBe(lookups);
  });

  it('keeps the last good list when a lookup fails', async () => {
    let fail = false;
    const b = balancer(
      () => (fail ? Promise.reject(new Error('SERVFAIL')) : Promise.resolve(['10.0.0.1'])),
      0,
    );
    await b.replicas();
    fail = true;
    await new Promise((resolve) => setTimeout(resolve, 5));
    await b.replicas();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await b.replicas()).toEqual(['http://10.0.0.1:8080']);
  });

  it('fails clearly when the name resolves to nothing', async () => {
    const b = balancer(() => Promise.reject(new Error('ENOTFOUND payments')));
    await expect(b.replicas()).rejects.toThrow('payments resolves to no address');
  });

  it('uses a literal address as the only replica', async () => {
    const lookup = jest.fn<Promise<string[]>, [string]>();
    const b = new ReplicaBalancer({ url: 'http://127.0.0.1:8081', refreshMs: 0, logger, lookup });
    expect(await b.replicas()).toEqual(['http://127.0.0.1:8081']);
    expect(lookup).not.toHaveBeenCalled();
  });
});
