// The node's platform (os/architecture/variant, as OCI indexes name them)
// and how an index entry is matched against it.

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, string> = {
  x64: 'amd64',
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  ia32: '386',
  i386: '386',
  i686: '386',
};

/** The architecture and variant spelled the OCI way ("aarch64" → "arm64"/"v8"). */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  architecture = ARCH_ALIASES[architecture] ?? architecture;
  if (p.architecture.toLowerCase() === 'armhf') variant ??= 'v7';
  if (p.architecture.toLowerCase() === 'armel') variant ??= 'v6';
  if (architecture === 'arm64' && (variant === undefined || variant === '' || variant === '8')) variant = 'v8';
  if (architecture === 'arm' && (variant === undefined || variant === '')) variant = 'v7';
  if (architecture === 'arm' && /^\d$/.test(variant ?? '')) variant = `v${variant}`;
  if (architecture === 'amd64' && (variant === '' || variant === 'v1')) variant = undefined;
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  return out;
}

/** The platform krilld runs on. */
export function hostPlatform(): Platform {
  let variant: string | undefined;
  if (process.arch === 'arm') {
    const v = (process.config.variables as { arm_version?: string }).arm_version;
    if (v) variant = `v${v}`;
  }
  return normalizePlatform({ os: process.platform, architecture: process.arch, ...(variant ? { variant } : {}) });
}

/**
 * How well `candidate` suits `host`: 0 is a perfect match, higher numbers are
 * worse but still runnable (an arm v6 image on an arm v7 host); undefined
 * means it cannot run there.
 */
export function platformRank(host: Platform, candidate: Platform): number | undefined {
  const h = normalizePlatform(host);
  const c = normalizePlatform(candidate);
  if (h.os !== c.os || h.architecture !== c.architecture) return undefined;
  if (h.variant === c.variant) return 0;
  if (h.architecture === 'arm' && h.variant && c.variant) {
    const hv = Number(h.variant.slice(1));
    const cv = Number(c.variant.slice(1));
    if (Number.isInteger(hv) && Number.isInteger(cv) && cv < hv) return hv - cv;
  }
  if (h.architecture === 'amd64' && c.variant === undefined) return 0;
  return undefined;
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}
