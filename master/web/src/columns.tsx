import type { Site, Task } from '../../../shared/src/api.js';
import { href } from './router.js';
import type { Column } from './table.js';
import { Badge, formatSpan, formatTime } from './util.js';

const time = (iso: string | null) => (iso ? Date.parse(iso) : null);

/** A site list's columns; the client's and links to platforms are an admin's. */
export function siteColumns(admin: boolean): Array<Column<Site>> {
  return [
    {
      header: 'Domain',
      cell: (site) => <a href={href(['sites', site.domain])}>{site.domain}</a>,
      sortBy: (site) => site.domain,
    },
    { header: 'Status', cell: (site) => <Badge value={site.status} />, sortBy: (site) => site.status },
    {
      header: 'Platform',
      cell: (site) =>
        admin ? <a href={href(['platforms', site.platform])}>{site.platform}</a> : site.platform,
      sortBy: (site) => site.platform,
    },
    ...(admin
      ? [
          {
            header: 'Client',
            cell: (site: Site) => site.client ?? '–',
            sortBy: (site: Site) => site.client,
          },
        ]
      : []),
    {
      header: 'Verified',
      cell: (site) => formatTime(site.verifiedAt),
      sortBy: (site) => time(site.verifiedAt),
    },
  ];
}

/** Where a task's target is shown: a site's or platform's page, a cluster's; a server by name. */
function TaskTarget({ task, admin }: { task: Task; admin: boolean }) {
  switch (task.targetKind) {
    case 'site':
      return <a href={href(['sites', task.targetName])}>{task.targetName}</a>;
    case 'platform':
      return admin ? <a href={href(['platforms', task.targetName])}>{task.targetName}</a> : task.targetName;
    case 'cluster':
      return admin ? <a href={href(['clusters', task.targetName])}>{task.targetName}</a> : task.targetName;
    case 'server':
      return admin ? (
        <a href={href(['servers'], { q: task.targetName })}>{task.targetName}</a>
      ) : (
        task.targetName
      );
    case 'store':
      return admin ? <a href={href(['backups'])}>store</a> : 'store';
  }
}

export function taskColumns(admin: boolean, options: { target?: boolean } = {}): Array<Column<Task>> {
  return [
    {
      header: 'Task',
      cell: (task) => <a href={href(['tasks', task.id])}>{task.type}</a>,
      sortBy: (task) => task.type,
    },
    ...(options.target === false
      ? []
      : [
          {
            header: 'Target',
            cell: (task: Task) => <TaskTarget task={task} admin={admin} />,
            sortBy: (task: Task) => task.targetName,
          },
        ]),
    { header: 'State', cell: (task) => <Badge value={task.state} />, sortBy: (task) => task.state },
    { header: 'Queued', cell: (task) => formatTime(task.createdAt), sortBy: (task) => time(task.createdAt) },
    {
      header: 'Took',
      cell: (task) => formatSpan(task.startedAt, task.finishedAt),
      sortBy: (task) =>
        task.startedAt ? (time(task.finishedAt) ?? Date.now()) - Date.parse(task.startedAt) : null,
    },
  ];
}
