/** One of several jobs that feed each other through streams (a program and a transfer). */
export interface Linked<T> {
  run: Promise<T>;
  /** Called once if this job fails first: unblock the others (destroy the stream between them). */
  onFailure: (error: unknown) => void;
}

type Results<T extends readonly Linked<unknown>[]> = { -readonly [K in keyof T]: Awaited<T[K]['run']> };

/**
 * Waits for jobs linked by streams and reports the failure that came first: the cause, not the
 * "stream closed" errors it set off in the others. The failing job's onFailure unblocks the rest,
 * so that nothing waits forever on a pipe nobody reads.
 */
export async function firstFailure<const T extends readonly Linked<unknown>[]>(jobs: T): Promise<Results<T>> {
  let first: { error: unknown } | undefined;
  const settled = await Promise.allSettled(
    jobs.map((job) =>
      job.run.catch((error: unknown) => {
        if (!first) {
          first = { error };
          job.onFailure(error);
        }
        throw error;
      }),
    ),
  );
  if (first) throw first.error;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as Results<T>;
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
