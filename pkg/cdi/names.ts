// CDI names: a spec's kind ("vendor.com/class") and a device's fully
// qualified name ("vendor.com/class=name"), with the character rules of the
// CDI specification as its reference implementation applies them.

const letter = (c: string): boolean => (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
const digit = (c: string): boolean => c >= '0' && c <= '9';
const alnum = (c: string): boolean => letter(c) || digit(c);

/** Why `name` is no vendor or class name (a letter, then letters, digits, "_", "-", ".", ending alphanumeric); undefined when it is one. */
function vendorOrClassError(name: string, what: 'vendor' | 'class'): string | undefined {
  if (name === '') return `the ${what} is empty`;
  if (!letter(name[0]!)) return `the ${what} ${JSON.stringify(name)} does not start with a letter`;
  for (const c of name.slice(1, -1)) {
    if (!alnum(c) && c !== '_' && c !== '-' && c !== '.') return `the ${what} ${JSON.stringify(name)} holds ${JSON.stringify(c)}`;
  }
  if (!alnum(name[name.length - 1]!)) return `the ${what} ${JSON.stringify(name)} does not end with a letter or digit`;
  return undefined;
}

/** Why `name` is no device name (alphanumeric at both ends; letters, digits, "_", "-", ".", ":" between); undefined when it is one. */
export function deviceNameError(name: string): string | undefined {
  if (name === '') return 'the device name is empty';
  if (!alnum(name[0]!)) return `the device name ${JSON.stringify(name)} does not start with a letter or digit`;
  for (const c of name.slice(1, -1)) {
    if (!alnum(c) && c !== '_' && c !== '-' && c !== '.' && c !== ':') return `the device name ${JSON.stringify(name)} holds ${JSON.stringify(c)}`;
  }
  if (!alnum(name[name.length - 1]!)) return `the device name ${JSON.stringify(name)} does not end with a letter or digit`;
  return undefined;
}

export interface Kind {
  vendor: string;
  class: string;
}

/** A spec's kind, or why it is none. */
export function parseKind(kind: string): Kind | { error: string } {
  const slash = kind.indexOf('/');
  if (slash <= 0 || slash === kind.length - 1) return { error: `kind ${JSON.stringify(kind)} is not of the form vendor/class` };
  const vendor = kind.slice(0, slash);
  const cls = kind.slice(slash + 1);
  const error = vendorOrClassError(vendor, 'vendor') ?? vendorOrClassError(cls, 'class');
  return error ? { error: `kind ${JSON.stringify(kind)}: ${error}` } : { vendor, class: cls };
}

export interface QualifiedName extends Kind {
  name: string;
}

/** "vendor/class=name" split and checked, or why it is no fully qualified CDI device name. */
export function parseQualifiedName(device: string): QualifiedName | { error: string } {
  const eq = device.indexOf('=');
  if (device.startsWith('/') || eq <= 0 || eq === device.length - 1) {
    return { error: `${JSON.stringify(device)} is not a fully qualified CDI device name (vendor/class=name)` };
  }
  const kind = parseKind(device.slice(0, eq));
  if ('error' in kind) return { error: `${JSON.stringify(device)} is not a fully qualified CDI device name: ${kind.error}` };
  const name = device.slice(eq + 1);
  const error = deviceNameError(name);
  return error ? { error: `${JSON.stringify(device)} is not a fully qualified CDI device name: ${error}` } : { ...kind, name };
}

export const qualifiedName = (kind: string, name: string): string => `${kind}=${name}`;
