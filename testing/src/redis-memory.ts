import type { Redis } from 'ioredis';

/** The key prefix of the records {@link fillPastMemoryLimit} writes. */
export const FILLER_PREFIX = 'filler:';

const field = (info: string, name: string) =>
  Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1]);

/**
 * Puts Redis over its memory limit as the lab runs it (`maxmemory-policy noeviction`, as in
 * docker-compose.yml): writes `records` expiring records of 1 KiB, then caps memory 1 MiB below
 * what Redis holds. From then on every write that could grow memory is refused (`OOM`), and stays
 * so while nothing frees a megabyte; {@link expireFiller} lets Redis free it by expiring them.
 */
export async function fillPastMemoryLimit(admin: Redis, records = 2_000): Promise<void> {
  const record = 'x'.repeat(1_024);
  const pipeline = admin.pipeline();
  for (let i = 0; i < records; i += 1) pipeline.set(`${FILLER_PREFIX}${i}`, record, 'EX', 3_600);
  await pipeline.exec();
  const used = field(await admin.info('memory'), 'used_memory');
  await admin.config('SET', 'maxmemory-policy', 'noeviction');
  await admin.config('SET', 'maxmemory', String(used - 1024 * 1024));
}

/** Makes the filler records expire now, so that Redis frees their memory itself. */
export async function expireFiller(admin: Redis, records = 2_000): Promise<void> {
  const pipeline = admin.pipeline();
  for (let i = 0; i < records; i += 1) pipeline.pexpire(`${FILLER_PREFIX}${i}`, 1);
  await pipeline.exec();
}

/** Whether Redis is over its memory limit, and how many keys it ever evicted. */
export async function memoryState(admin: Redis): Promise<{ full: boolean; evicted: number }> {
  const memory = await admin.info('memory');
  const maxmemory = field(memory, 'maxmemory');
  return {
    full: maxmemory > 0 && field(memory, 'used_memory') > maxmemory,
    evicted: field(await admin.info('stats'), 'evicted_keys'),
  };
}
