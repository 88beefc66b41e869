import PQueue from 'p-queue';

/**
 * Runs `fn` over `items` with at most `limit` calls in flight; rejects with the
 * first error after the calls already started have settled (none starts after
 * a failure). On p-queue, lockstep's one concurrency limiter: the publish
 * scheduler needs its queue (work added as dependencies settle, a slot given
 * back before a package settles), and a fixed list is the simple case of it.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const queue = new PQueue({ concurrency: Math.max(1, limit) });
  const results = new Array<R>(items.length);
  let failure: { error: unknown } | undefined;
  await Promise.all(
    items.map((item, index) =>
      queue.add(async () => {
        if (failure !== undefined) return;
        try {
          results[index] = await fn(item, index);
        } catch (error) {
          failure ??= { error };
        }
      }),
    ),
  );
  if (failure) throw failure.error;
  return results;
}
