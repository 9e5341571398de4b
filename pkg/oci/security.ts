// AppArmor: the profile a container runs under, when the node has AppArmor.
// (SELinux labels are not applied: Krill's nodes run without SELinux.)
import {
  SecurityProfile_ProfileType,
  type LinuxContainerSecurityContext,
} from '../../api/runtime/v1/api';
import { failedPrecondition, invalidArgument } from '../errors/errors';

const SC = 'config.linux.security_context';

type Choice = { type: 'RuntimeDefault' | 'Unconfined' | 'Unset' } | { type: 'Localhost'; name: string; field: string };

function appArmorChoice(sc: LinuxContainerSecurityContext | undefined): Choice {
  const p = sc?.apparmor;
  if (p) {
    switch (p.profileType) {
      case SecurityProfile_ProfileType.RuntimeDefault:
        return { type: 'RuntimeDefault' };
      case SecurityProfile_ProfileType.Unconfined:
        return { type: 'Unconfined' };
      case SecurityProfile_ProfileType.Localhost: {
        const name = p.localhostRef.startsWith('localhost/') ? p.localhostRef.slice('localhost/'.length) : p.localhostRef;
        if (name === '') throw invalidArgument(`${SC}.apparmor.localhost_ref is required for a Localhost profile`);
        return { type: 'Localhost', name, field: `${SC}.apparmor.localhost_ref ${JSON.stringify(p.localhostRef)}` };
      }
      default:
        throw invalidArgument(`${SC}.apparmor.profile_type ${p.profileType} is not RuntimeDefault, Unconfined or Localhost`);
    }
  }
  const legacy = sc?.apparmorProfile ?? '';
  if (legacy === '') return { type: 'Unset' };
  if (legacy === 'runtime/default') return { type: 'RuntimeDefault' };
  if (legacy === 'unconfined') return { type: 'Unconfined' };
  if (legacy.startsWith('localhost/') && legacy.length > 'localhost/'.length) {
    return { type: 'Localhost', name: legacy.slice('localhost/'.length), field: `${SC}.apparmor_profile ${JSON.stringify(legacy)}` };
  }
  throw invalidArgument(`${SC}.apparmor_profile ${JSON.stringify(legacy)} is not runtime/default, unconfined or localhost/<name>`);
}

export interface AppArmorInput {
  securityContext: LinuxContainerSecurityContext | undefined;
  /** Whether the node's kernel has AppArmor enabled. */
  hostAppArmor: boolean;
  /** The profile RuntimeDefault (and no request) means, loaded by the caller; undefined for none. */
  defaultProfile: string | undefined;
  /** Why the default profile could not be loaded, on a node with AppArmor: such containers are refused. */
  defaultProfileError?: string;
  /** The profiles loaded on the node, when the request names one (specRequirements says so). */
  loadedProfiles?: ReadonlySet<string>;
}

/** Whether the request names a Localhost profile: the caller then reads which profiles are loaded. */
export function namesAppArmorProfile(sc: LinuxContainerSecurityContext | undefined): boolean {
  return appArmorChoice(sc).type === 'Localhost';
}

/** The process's apparmorProfile, or undefined for none. */
export function resolveAppArmor(input: AppArmorInput): string | undefined {
  const choice = appArmorChoice(input.securityContext);
  if (choice.type === 'Localhost') {
    if (!input.hostAppArmor) throw invalidArgument(`${choice.field}: AppArmor is not enabled on this node`);
    if (input.loadedProfiles && !input.loadedProfiles.has(choice.name)) {
      throw invalidArgument(`${choice.field}: no AppArmor profile ${JSON.stringify(choice.name)} is loaded on this node`);
    }
    return choice.name;
  }
  if (!input.hostAppArmor || choice.type === 'Unconfined' || input.securityContext?.privileged) return undefined;
  if (input.defaultProfile === undefined && input.defaultProfileError !== undefined) {
    throw failedPrecondition(`the RuntimeDefault AppArmor profile is not available on this node: ${input.defaultProfileError}`);
  }
  return input.defaultProfile;
}
