import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from './processes.js';
import type { TestHost } from './test-hosts.js';
import { requestSite, type SiteRequestInit, type SiteResponse } from './web-stack.js';

/**
 * A load balancer in front of a cluster's heads, on a test host of its own: Debian's nginx as a
 * reverse proxy, round robin over the heads' port 80, the Host header passed on. Berth does not
 * manage it; the README's "Clusters" section shows the same configuration for production.
 */
export interface LoadBalancer {
  address: string;
  request(host: string, path?: string, init?: SiteRequestInit): Promise<SiteResponse>;
  logs(): string;
}

/** The nginx configuration of the load balancer (what the README shows, with a test host's paths). */
export function loadBalancerConfig(options: {
  dir: string;
  listen: string;
  heads: readonly string[];
}): string {
  const temp = (name: string) => join(options.dir, 'temp', name);
  return `# A load balancer in front of a Berth cluster's heads (test/support/load-balancer.ts).
daemon off;
worker_processes 1;
user root;
pid ${join(options.dir, 'nginx.pid')};
error_log ${join(options.dir, 'error.log')} notice;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path ${temp('client_body')};
    proxy_temp_path ${temp('proxy')};
    fastcgi_temp_path ${temp('fastcgi')};
    uwsgi_temp_path ${temp('uwsgi')};
    scgi_temp_path ${temp('scgi')};
    upstream berth_heads {
${options.heads.map((head) => `        server ${head}:80 max_fails=1 fail_timeout=2s;`).join('\n')}
    }
    server {
        listen ${options.listen}:80 default_server;
        location / {
            proxy_pass http://berth_heads;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            # A head that does not answer: the request goes to the next one.
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
        }
    }
}
`;
}

export async function startLoadBalancer(host: TestHost, heads: readonly string[]): Promise<LoadBalancer> {
  const dir = join(host.dir, 'lb');
  for (const name of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(dir, 'temp', name), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, loadBalancerConfig({ dir, listen: host.address, heads }));
  const nginx = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
  host.start('lb-nginx', nginx, ['-p', `${dir}/`, '-c', conf, '-e', join(dir, 'error.log')]);
  const lb: LoadBalancer = {
    address: host.address,
    request: (domain, path, init) => requestSite(host.address, 80, domain, path, init),
    logs: () => {
      const log = join(dir, 'error.log');
      return existsSync(log) ? `--- ${log}\n${readFileSync(log, 'utf8').slice(-4000)}` : '';
    },
  };
  await eventually(
    'the load balancer to answer',
    () =>
      lb.request('nothing.invalid').then(
        () => true,
        () => false,
      ),
    10_000,
  );
  return lb;
}
