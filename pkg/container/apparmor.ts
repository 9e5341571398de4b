// AppArmor on the node: which profiles are loaded, and loading Krill's
// default profile (pkg/oci/apparmor_profile.ts) with apparmor_parser when
// the kernel has AppArmor enabled.
import { readFile } from 'node:fs/promises';
import { defaultAppArmorProfile, DEFAULT_APPARMOR_PROFILE, parseLoadedProfiles } from '../oci/apparmor_profile';
import type { Launcher } from '../spawn/launcher';
import { run } from '../spawn/run';

const PROFILES = '/sys/kernel/security/apparmor/profiles';
const PARSER_TIMEOUT_MS = 60_000;

/** The names of the profiles loaded in the kernel (empty without AppArmor). */
export async function loadedAppArmorProfiles(): Promise<Set<string>> {
  return parseLoadedProfiles(await readFile(PROFILES, 'utf8').catch(() => ''));
}

export type DefaultProfile = { name: string } | { error: string };

/**
 * Loads (or replaces, when an older krilld loaded another version) the
 * default profile. Never throws: a node where it cannot be loaded refuses
 * RuntimeDefault containers with the reason.
 */
export async function loadDefaultAppArmorProfile(launcher: Launcher, parser = 'apparmor_parser'): Promise<DefaultProfile> {
  const name = DEFAULT_APPARMOR_PROFILE;
  try {
    // -r: replace a loaded profile of that name; -K: no cache (the text is generated, and small).
    const r = await run(launcher, parser, ['-Kr'], { input: defaultAppArmorProfile(name), timeoutMs: PARSER_TIMEOUT_MS });
    if (r.code !== 0) return { error: `${parser} failed (${r.code ?? r.signal}): ${r.stderr.trim().split('\n').slice(-3).join('; ')}` };
  } catch (err) {
    return { error: `cannot run ${parser}: ${(err as Error).message}` };
  }
  if (!(await loadedAppArmorProfiles()).has(name)) return { error: `${parser} succeeded but ${name} is not among the loaded profiles` };
  return { name };
}
