// Traffic shaping asked for with the kubernetes.io/ingress-bandwidth and
// kubernetes.io/egress-bandwidth pod annotations (Kubernetes quantities of
// bits per second), as the CNI bandwidth capability wants it.

export const INGRESS_ANNOTATION = 'kubernetes.io/ingress-bandwidth';
export const EGRESS_ANNOTATION = 'kubernetes.io/egress-bandwidth';

export interface CniBandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

// The burst kubelet's dockershim and containerd pass: effectively unlimited.
const BURST = 4294967295;

const SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity ("10M", "1.5Gi", "100000") as a number; undefined when malformed. */
export function parseQuantity(text: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$/.exec(text.trim());
  if (!m) return undefined;
  const mult = SUFFIX[m[2]!];
  if (mult === undefined) return undefined;
  return Math.ceil(Number(m[1]) * mult);
}

export class BandwidthError extends Error {
  constructor(readonly annotation: string, value: string) {
    super(`annotation ${annotation}=${JSON.stringify(value)} is not a bandwidth quantity (e.g. "10M")`);
    this.name = 'BandwidthError';
  }
}

/** The bandwidth capability for a pod's annotations; undefined when it asks for none. */
export function bandwidthFromAnnotations(annotations: Record<string, string>): CniBandwidth | undefined {
  const out: CniBandwidth = {};
  for (const [annotation, rate, burst] of [
    [INGRESS_ANNOTATION, 'ingressRate', 'ingressBurst'],
    [EGRESS_ANNOTATION, 'egressRate', 'egressBurst'],
  ] as const) {
    const value = annotations[annotation];
    if (value === undefined) continue;
    const bits = parseQuantity(value);
    if (bits === undefined || bits <= 0) throw new BandwidthError(annotation, value);
    out[rate] = bits;
    out[burst] = BURST;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
