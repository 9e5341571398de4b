// The files a pod's containers share: /etc/hostname, /etc/hosts and
// /etc/resolv.conf. Their content is built here (pure); the manager writes them.

export interface DnsSettings {
  servers: string[];
  searches: string[];
  options: string[];
}

export function hostnameContent(hostname: string): string {
  return `${hostname}\n`;
}

/** localhost entries, then the pod's IPs with its hostname. */
export function hostsContent(hostname: string, ips: readonly string[]): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  for (const ip of ips) lines.push(`${ip}\t${hostname}`);
  return `${lines.join('\n')}\n`;
}

export function resolvConfContent(dns: DnsSettings): string {
  const lines: string[] = [];
  if (dns.searches.length > 0) lines.push(`search ${dns.searches.join(' ')}`);
  for (const server of dns.servers) lines.push(`nameserver ${server}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** Whether kubelet gave DNS settings at all (none means: the node's resolv.conf). */
export function hasDnsSettings(dns: DnsSettings | undefined): dns is DnsSettings {
  return dns !== undefined && dns.servers.length + dns.searches.length + dns.options.length > 0;
}
