import type { RedisClient } from './redis';
import { RedisScript } from '@cb-lab/shared-breaker';

/** A record with a lifecycle: some statuses are final and are never overwritten. */
export interface StatusRecord {
  readonly id: string;
  readonly status: string;
}

export interface RecordStoreOptions {
  /**
   * Key prefix and hash tag, e.g. `orders` gives `{orders}:record:<id>` and
   * `{orders}:idempotency:<key>`: one slot on a Redis Cluster, so the script that claims a key
   * and writes its record touches one node.
   */
  prefix: string;
  finalStatuses: readonly string[];
  /** How long records and idempotency keys are kept. */
  ttlSeconds: number;
}

/** Claims the idempotency key and writes the new record in one step, or returns the id that owns the key. */
const CLAIM = new RedisScript<[number, string]>(
  `
local owner = redis.call('GET', KEYS[1])
if owner then return {0, owner} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return {1, ARGV[1]}
`,
  2,
);

/** Writes a new version unless the stored one is final, so a late failure never undoes a success. */
const SETTLE = new RedisScript<string | null>(
  `
local current = redis.call('GET', KEYS[1])
if not current then return nil end
local status = cjson.decode(current)['status']
for i = 2, #ARGV do
  if status == ARGV[i] then return current end
end
redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
return ARGV[1]
`,
  1,
);

/**
 * JSON records in Redis with idempotent creation and final-status
 * protection. Each operation is one atomic script, so replicas racing on the
 * same key or record cannot interleave.
 */
export class RecordStore<T extends StatusRecord> {
  constructor(
    private readonly redis: RedisClient,
    private readonly options: RecordStoreOptions,
  ) {}

  /**
   * Stores `fresh`, unless `idempotencyKey` already belongs to a record: then
   * that record is returned and `created` is false.
   */
  async create(fresh: T, idempotencyKey?: string): Promise<{ record: T; created: boolean }> {
    const json = JSON.stringify(fresh);
    if (idempotencyKey === undefined) {
      await this.redis.set(this.#recordKey(fresh.id), json, 'EX', this.options.ttlSeconds);
      return { record: fresh, created: true };
    }
    const [created, ownerId] = await CLAIM.run(
      this.redis,
      [this.#idempotencyKey(idempotencyKey), this.#recordKey(fresh.id)],
      [fresh.id, json, this.options.ttlSeconds],
    );
    if (created === 1) return { record: fresh, created: true };
    const owner = await this.find(ownerId);
    if (!owner)
      throw new Error(
        `${this.options.prefix} ${ownerId} owns an idempotency key but has no record`,
      );
    return { record: owner, created: false };
  }

  async find(id: string): Promise<T | undefined> {
    const json = await this.redis.get(this.#recordKey(id));
    return json === null ? undefined : (JSON.parse(json) as T);
  }

  /** Saves `next` unless the stored version is final; returns what is stored afterwards. */
  async settle(next: T): Promise<T> {
    const stored = await SETTLE.run(
      this.redis,
      [this.#recordKey(next.id)],
      [JSON.stringify(next), ...this.options.finalStatuses],
    );
    if (stored === null)
      throw new Error(`${this.options.prefix} ${next.id} vanished before it was settled`);
    return JSON.parse(stored) as T;
  }

  #recordKey(id: string): string {
    return `{${this.options.prefix}}:record:${id}`;
  }

  #idempotencyKey(key: string): string {
    return `{${this.options.prefix}}:idempotency:${key}`;
  }
}
