// Shutdown waits for work on the wire, but not forever: a peer that never answers must not hold
// the daemon (systemd would kill it mid-write instead).

/** Resolves once every promise has settled, or after `ms`, whichever comes first. */
export async function settledWithin(pending: Iterable<Promise<unknown>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  await Promise.race([Promise.allSettled([...pending]), timeout]);
  clearTimeout(timer);
}
