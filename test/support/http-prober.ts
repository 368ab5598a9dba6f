import type { WebStack } from './web-stack.js';

/**
 * An HTTP prober: what a visitor sees of a site during an operation, watched from outside. It asks
 * for one page again and again (a fresh connection each time) and keeps every answer with the time
 * it was sent and the time it came back. Used by the migrate e2e test and the offline-window bench,
 * so that both read a window the same way.
 */

export type ProbeState = 'up' | 'read-only' | 'maintenance' | 'error';

export interface ProbeSample {
  /** When the request was sent (ms since the epoch). */
  at: number;
  /** When its answer (or its failure) came back. */
  answeredAt: number;
  /** The HTTP status; 0 when no answer came (connection refused or reset, timeout). */
  status: number;
  state: ProbeState;
  /** The page's Generator meta tag, when it has one (the fixture names its core version there). */
  generator: string | null;
  /** The system module's schema version the page was served on (the fixture names it), or null. */
  schema: number | null;
}

export interface ProbeOptions {
  path?: string;
  /** The pause between an answer and the next request. */
  intervalMs?: number;
}

export interface HttpProber {
  readonly samples: readonly ProbeSample[];
  /** Stops asking, waits for the request in flight, and returns every sample. */
  stop(): Promise<ProbeSample[]>;
}

/**
 * 200 with the fixture's node form is up; 200 without it is read-only (module readonlymode removes
 * the form and shows its warning), 503 is maintenance, anything else is an error.
 */
export function probeState(status: number, body: string): ProbeState {
  if (status === 200) return body.includes('id="node-article-form"') ? 'up' : 'read-only';
  if (status === 503) return 'maintenance';
  return 'error';
}

export function generatorOf(body: string): string | null {
  return /<meta name="Generator" content="([^"]*)"/.exec(body)?.[1] ?? null;
}

export function schemaOf(body: string): number | null {
  const schema = /<meta name="X-Fixture-Schema" content="system (\d+)"/.exec(body)?.[1];
  return schema === undefined ? null : Number(schema);
}

export function startHttpProber(
  web: Pick<WebStack, 'request'>,
  host: string,
  options: ProbeOptions = {},
): HttpProber {
  const samples: ProbeSample[] = [];
  const intervalMs = options.intervalMs ?? 20;
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      const sample = await web.request(host, options.path ?? '/').then(
        (response) => ({
          status: response.status,
          state: probeState(response.status, response.body),
          generator: generatorOf(response.body),
          schema: schemaOf(response.body),
        }),
        () => ({ status: 0, state: 'error' as const, generator: null, schema: null }),
      );
      samples.push({ at, answeredAt: Date.now(), ...sample });
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

export interface Outage {
  /** Sent time of the first sample in one of the states. */
  start: number;
  /** Answer time of the last sample in one of the states. */
  end: number;
  seconds: number;
  /** Samples in those states. */
  count: number;
  /** Samples in other states between the first and the last: the site came back in between. */
  interruptions: number;
}

/**
 * The span the prober saw the site in the given states: from the sending of the first sample in one
 * of them to the answer of the last one. It can be short of the real span by up to one probe
 * interval plus one request at each end; null when no sample was in those states.
 */
export function spanOf(samples: readonly ProbeSample[], states: readonly ProbeState[]): Outage | null {
  const first = samples.findIndex((sample) => states.includes(sample.state));
  if (first < 0) return null;
  const last = samples.findLastIndex((sample) => states.includes(sample.state));
  const inside = samples.slice(first, last + 1);
  const count = inside.filter((sample) => states.includes(sample.state)).length;
  const start = samples[first]!.at;
  const end = samples[last]!.answeredAt;
  return { start, end, seconds: (end - start) / 1000, count, interruptions: inside.length - count };
}

/** The longest time between two consecutive requests: how finely the prober saw. */
export function resolutionMs(samples: readonly ProbeSample[]): number {
  let widest = 0;
  for (let index = 1; index < samples.length; index += 1) {
    widest = Math.max(widest, samples[index]!.at - samples[index - 1]!.at);
  }
  return widest;
}
