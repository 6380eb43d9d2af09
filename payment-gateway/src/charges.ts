import { randomUUID } from 'node:crypto';
import type { ChargeRequest } from '@cb-lab/contracts';
import { idempotencyKeyReused } from '@cb-lab/shared';

export type { ChargeRequest } from '@cb-lab/contracts';

export type ChargeStatus = 'approved' | 'declined';

export interface Charge extends ChargeRequest {
  id: string;
  status: ChargeStatus;
  declineCode?: 'insufficient_funds';
  createdAt: string;
}

export interface ChargeResult {
  charge: Charge;
  /** True when an earlier request with the same idempotency key already made this charge. */
  replayed: boolean;
}

interface Remembered {
  fingerprint: string;
  charge: Promise<Charge>;
}

const fingerprintOf = ({ amount, currency, reference }: ChargeRequest): string =>
  JSON.stringify([amount, currency, reference]);

/**
 * The gateway's business logic: approve or decline, and honour idempotency
 * keys so a retried request never charges twice. Keys live in memory (this is
 * a stand-in third party), bounded to the most recent `cacheSize`.
 */
export class ChargeProcessor {
  readonly #byKey = new Map<string, Remembered>();
  readonly #byId = new Map<string, Charge>();

  constructor(private readonly options: { cardLimitMinor: number; cacheSize: number }) {}

  async charge(request: ChargeRequest, idempotencyKey: string | undefined): Promise<ChargeResult> {
    if (idempotencyKey === undefined) return { charge: this.#decide(request), replayed: false };

    const fingerprint = fingerprintOf(request);
    const remembered = this.#byKey.get(idempotencyKey);
    if (remembered) {
      if (remembered.fingerprint !== fingerprint)
        throw idempotencyKeyReused(
          idempotencyKey,
          'an earlier charge',
          'amount, currency or reference',
        );
      return { charge: await remembered.charge, replayed: true };
    }
    // Stored before any await, so a concurrent duplicate finds it and waits for the same charge.
    const charge = Promise.resolve().then(() => this.#decide(request));
    this.#remember(idempotencyKey, { fingerprint, charge });
    return { charge: await charge, replayed: false };
  }

  find(id: string): Charge | undefined {
    return this.#byId.get(id);
  }

  /** Every charge made (the most recent `cacheSize`), oldest first, optionally for one reference. */
  list(reference?: string): Charge[] {
    const charges = [...this.#byId.values()];
    return reference === undefined ? charges : charges.filter((c) => c.reference === reference);
  }

  #decide(request: ChargeRequest): Charge {
    const declined = request.amount > this.options.cardLimitMinor;
    const charge: Charge = {
      id: `ch_${randomUUID()}`,
      ...request,
      status: declined ? 'declined' : 'approved',
      ...(declined ? { declineCode: 'insufficient_funds' as const } : {}),
      createdAt: new Date().toISOString(),
    };
    this.#byId.set(charge.id, charge);
    this.#evictOver(this.#byId);
    return charge;
  }

  #remember(key: string, entry: Remembered): void {
    this.#byKey.set(key, entry);
    this.#evictOver(this.#byKey);
  }

  /** Maps iterate in insertion order, so the first key is the oldest. */
  #evictOver(map: Map<string, unknown>): void {
    while (map.size > this.options.cacheSize) {
      const oldest = map.keys().next();
      if (oldest.done === true) return;
      map.delete(oldest.value);
    }
  }
}
