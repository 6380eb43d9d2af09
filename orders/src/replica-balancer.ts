import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { PeriodicTask, type Logger } from '@cb-lab/shared';

export type LookupAll = (hostname: string) => Promise<readonly string[]>;

const lookupAll: LookupAll = async (hostname) =>
  (await dnsLookup(hostname, { all: true })).map(({ address }) => address);

export interface ReplicaBalancerOptions {
  /** e.g. `http://payments:8080`; under compose the name resolves to every replica. */
  url: string;
  refreshMs: number;
  logger: Logger;
  lookup?: LookupAll;
}

/**
 * Spreads calls over every address a service name resolves to, round robin.
 * Connecting by address keeps one keep-alive pool per replica, so no single
 * long-lived connection pins all traffic to one of them. The list is looked
 * up again every `refreshMs`: in the background once {@link start}ed, so
 * replicas recreated while no call came (new containers, new addresses) are
 * found before the next call; and by a call that finds the list stale. A
 * failed lookup keeps the last good list.
 */
export class ReplicaBalancer {
  readonly #base: URL;
  readonly #lookup: LookupAll;
  readonly #refresher: PeriodicTask<void>;
  #addresses: readonly string[] = [];
  #resolvedAt = 0;
  #refreshing: Promise<void> | undefined;
  #next = 0;

  constructor(private readonly options: ReplicaBalancerOptions) {
    this.#base = new URL(options.url);
    this.#lookup = options.lookup ?? lookupAll;
    if (isIP(this.#hostname) !== 0) {
      this.#addresses = [this.#hostname];
      this.#resolvedAt = Infinity;
    }
    // #refresh logs its own failures and never rejects.
    this.#refresher = new PeriodicTask({
      intervalMs: options.refreshMs,
      run: () => this.#refresh(),
      onError: () => undefined,
    });
  }

  /** Looks the name up every `refreshMs` from now on, calls or not (nothing to do for an address). */
  start(): void {
    if (this.#resolvedAt !== Infinity) this.#refresher.start();
  }

  stop(): Promise<void> {
    return this.#refresher.stop();
  }

  /** Base URLs of the known replicas, in the order the next calls will use them. */
  async replicas(): Promise<string[]> {
    if (this.#addresses.length === 0) await this.#refresh();
    else if (Date.now() - this.#resolvedAt > this.options.refreshMs) void this.#refresh();
    const addresses = this.#addresses;
    if (addresses.length === 0) throw new Error(`${this.#hostname} resolves to no address`);
    const start = this.#next++ % addresses.length;
    return [...addresses.slice(start), ...addresses.slice(0, start)].map((address) =>
      this.#urlFor(address),
    );
  }

  get #hostname(): string {
    return this.#base.hostname.replace(/^\[(.*)\]$/, '$1');
  }

  #urlFor(address: string): string {
    const host = isIP(address) === 6 ? `[${address}]` : address;
    return `${this.#base.protocol}//${host}${this.#base.port === '' ? '' : `:${this.#base.port}`}`;
  }

  #refresh(): Promise<void> {
    this.#refreshing ??= this.#lookup(this.#hostname)
      .then((addresses) => {
        const sorted = [...addresses].sort();
        if (sorted.join() !== [...this.#addresses].sort().join()) {
          this.options.logger.info('replicas resolved', {
            host: this.#hostname,
            addresses: sorted,
          });
        }
        this.#addresses = sorted;
        this.#resolvedAt = Date.now();
      })
      .catch((error: unknown) => {
        this.options.logger.warn('replica lookup failed; keeping the last known list', {
          host: this.#hostname,
          error,
        });
        this.#resolvedAt = Date.now();
      })
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }
}
