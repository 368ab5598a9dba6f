import { readFile } from 'node:fs/promises';
import { arch, release, type } from 'node:os';

/** "Debian GNU/Linux 12 (bookworm), Linux 6.1.0-18-amd64 x64": the distribution, then the kernel. */
export async function describeOs(osReleasePath = '/etc/os-release'): Promise<string> {
  let distribution = '';
  try {
    distribution = parseOsRelease(await readFile(osReleasePath, 'utf8'));
  } catch {
    // Not every system has os-release; the kernel alone still says something.
  }
  const kernel = `${type()} ${release()} ${arch()}`;
  return distribution ? `${distribution}, ${kernel}` : kernel;
}

export function parseOsRelease(text: string): string {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) fields.set(match[1], match[2].replace(/^(["'])(.*)\1$/, '$2'));
  }
  return fields.get('PRETTY_NAME') ?? [fields.get('NAME'), fields.get('VERSION')].filter(Boolean).join(' ');
}
