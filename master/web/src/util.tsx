import { useCallback, useEffect, useRef, useState } from 'react';

/** Reads something now and again every `intervalMs` while the page is shown. */
export function usePolled<T>(
  load: () => Promise<T>,
  intervalMs: number,
  deps: readonly unknown[],
): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const loadRef = useRef(load);
  loadRef.current = load;
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    const run = () =>
      loadRef.current().then(
        (value) => {
          if (!live) return;
          setData(value);
          setError(undefined);
        },
        (failure: unknown) => live && setError(failure instanceof Error ? failure.message : String(failure)),
      );
    void run();
    const timer = intervalMs > 0 ? setInterval(() => void run(), intervalMs) : undefined;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [...deps, tick, intervalMs]);
  return { data, error, reload };
}

export function navigate(hash: string): void {
  window.location.hash = hash;
}

export function Badge({ value }: { value: string }) {
  return <span className={`badge badge-${value}`}>{value}</span>;
}

export function Problem({ message }: { message: string | undefined }) {
  return message ? (
    <p className="problem" role="alert">
      {message}
    </p>
  ) : null;
}

export function formatTime(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '–';
}

// Sizes and durations as the CLI writes them ("4.2s", "1m 59s", "5.00 GiB").
export { formatBytes, formatDuration } from '../../../shared/src/format.js';
