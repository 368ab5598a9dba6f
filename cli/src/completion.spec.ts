import { describe, expect, it } from 'vitest';
import { type CommandNode, bashScript, describeCommandTree, fishScript, zshScript } from './completion.js';
import { CliContext } from './context.js';
import { buildProgram } from './main.js';
import { memoryIo } from './testing/fake-master.js';

function tree(): CommandNode {
  return describeCommandTree(buildProgram(new CliContext(memoryIo({}), new AbortController().signal)));
}

function allPaths(node: CommandNode): string[] {
  return [node.path.join(' '), ...node.subcommands.flatMap(allPaths)];
}

function find(node: CommandNode, path: string): CommandNode {
  const found = [node, ...node.subcommands.flatMap((sub) => collect(sub))].find(
    (candidate) => candidate.path.join(' ') === path,
  );
  if (!found) throw new Error(`no command ${path}`);
  return found;
}

function collect(node: CommandNode): CommandNode[] {
  return [node, ...node.subcommands.flatMap(collect)];
}

describe('the command tree', () => {
  it('holds every command of the program with its options and arguments', () => {
    const root = tree();
    expect(root.subcommands.map((sub) => sub.name)).toEqual([
      'master',
      'agent',
      'server',
      'client',
      'token',
      'cluster',
      'platform',
      'site',
      'project',
      'env',
      'backup',
      'store',
      'task',
      'audit',
      'notify',
      'completion',
    ]);
    const install = find(root, 'site install');
    expect(install.options.map((option) => option.flags.join(','))).toEqual([
      '--platform',
      '--profile',
      '--db-server',
      '--client',
      '--repo',
      '--ref',
      '--deploy-key-file',
      '--no-wait',
      '--verbose',
      '--json',
      '--format',
      '--fields',
      '-h,--help',
    ]);
    expect(install.options[0]?.value).toEqual({ kind: 'names', of: 'platform' });
    expect(install.options[2]?.value).toEqual({ kind: 'names', of: 'server' });
    expect(install.options[7]?.value).toBeNull();
    // A new site's domain is not completed; an existing one's is.
    expect(install.arguments[0]?.value).toEqual({ kind: 'none' });
    expect(find(root, 'site show').arguments[0]?.value).toEqual({ kind: 'names', of: 'site' });
    expect(find(root, 'platform lock').arguments[0]?.value).toEqual({ kind: 'names', of: 'platform' });
    expect(find(root, 'platform add').arguments[0]?.value).toEqual({ kind: 'none' });
    expect(find(root, 'server verify').arguments[0]?.value).toEqual({ kind: 'names', of: 'server' });
    expect(find(root, 'cluster show').arguments[0]?.value).toEqual({ kind: 'names', of: 'cluster' });
    expect(find(root, 'cluster add-server').arguments.map((argument) => argument.value)).toEqual([
      { kind: 'names', of: 'cluster' },
      { kind: 'names', of: 'server' },
    ]);
    // server drain --to names a server, platform migrate-sites --to a platform.
    const to = (path: string) =>
      find(root, path).options.find((option) => option.flags.includes('--to'))?.value;
    expect(to('server drain')).toEqual({ kind: 'names', of: 'server' });
    expect(to('platform migrate-sites')).toEqual({ kind: 'names', of: 'platform' });
    expect(find(root, 'platform migrate-sites').arguments[0]?.value).toEqual({
      kind: 'names',
      of: 'platform',
    });
    expect(find(root, 'completion').arguments[0]?.value).toEqual({
      kind: 'words',
      words: ['bash', 'zsh', 'fish'],
    });
    expect(find(root, 'site aliases').options.find((o) => o.flags.includes('--dir'))?.value).toEqual({
      kind: 'dir',
    });
  });

  it('completes the output, paging and filter options', () => {
    const root = tree();
    const value = (path: string, flag: string) => {
      const option = find(root, path).options.find((candidate) => candidate.flags.includes(flag));
      if (!option) throw new Error(`${path} has no ${flag}`);
      return option.value;
    };
    const formats = { kind: 'words', words: ['json', 'yaml', 'table'] };
    expect(value('site list', '--format')).toEqual(formats);
    expect(value('task show', '--format')).toEqual(formats);
    expect(value('site list', '--fields')).toEqual({ kind: 'none' });
    for (const path of [
      'site list',
      'task list',
      'platform list',
      'server list',
      'client list',
      'site backups',
    ]) {
      expect(value(path, '--limit')).toEqual({ kind: 'none' });
      expect(value(path, '--cursor')).toEqual({ kind: 'none' });
      expect(value(path, '--all')).toBeNull();
    }
    expect(value('task list', '--state')).toEqual({
      kind: 'words',
      words: ['queued', 'running', 'succeeded', 'failed', 'cancelled'],
    });
    const types = value('task list', '--type');
    expect(types?.kind === 'words' && types.words.includes('site.migrate')).toBe(true);
    expect(value('task list', '--target')).toEqual({ kind: 'none' });
    expect(value('task list', '--server')).toEqual({ kind: 'names', of: 'server' });
    expect(value('task list', '--since')).toEqual({ kind: 'none' });
    expect(value('platform list', '--server')).toEqual({ kind: 'names', of: 'server' });
    expect(value('server list', '--role')).toEqual({ kind: 'words', words: ['http', 'db'] });
    expect(value('server list', '--connected')).toBeNull();
    expect(value('server list', '--disconnected')).toBeNull();
    expect(value('client list', '--search')).toEqual({ kind: 'none' });
    expect(value('site aliases', '--all')).toBeNull();
    expect(value('site aliases', '--client')).toEqual({ kind: 'names', of: 'client' });
    expect(value('site aliases', '--one-file')).toEqual({ kind: 'none' });
    expect(find(root, 'site aliases').arguments[0]).toMatchObject({
      required: false,
      value: { kind: 'names', of: 'site' },
    });
  });

  it('leaves out hidden options', () => {
    const completion = find(tree(), 'completion');
    expect(completion.options.flatMap((option) => option.flags)).not.toContain('--names');
  });
});

describe('completion scripts', () => {
  const root = tree();
  const paths = allPaths(root).filter(Boolean);

  it('bash: every command path and every long option is in the script', () => {
    const script = bashScript(root);
    for (const path of paths) expect(script).toContain(`"${path}")`);
    for (const node of collect(root)) {
      for (const flag of node.options.flatMap((option) => option.flags)) {
        if (flag.startsWith('--')) expect(script).toContain(flag);
      }
    }
    expect(script).toContain('complete -F _berth berth');
    expect(script).toContain('"server list|--role") echo "words:http db" ;;');
    expect(script).toContain('"site list|--format") echo "words:json yaml table" ;;');
  });

  it('zsh: the bash function under bashcompinit, with 0-based arrays and no variable zsh ties to PATH', () => {
    const script = zshScript(root);
    expect(script).toContain('bashcompinit');
    expect(script).toContain('setopt localoptions ksharrays');
    expect(script).not.toMatch(/(^|[\s;])(local [^\n]*\s)?path=/m);
    for (const path of paths) expect(script).toContain(`"${path}")`);
  });

  it('fish: a complete line for every subcommand and option', () => {
    const script = fishScript(root);
    for (const node of collect(root)) {
      for (const sub of node.subcommands) {
        expect(script).toContain(
          `complete -c berth -n '__berth_at "${node.path.join(' ')}"' -a ${sub.name} `,
        );
      }
    }
    expect(script).toContain(
      `-n '__berth_at "site install"' -l platform -x -a '(berth completion --names platform 2>/dev/null)'`,
    );
    expect(script).toContain(`-n '__berth_at "task log"' -s f -l follow -d `);
    expect(script).toContain(`-n '__berth_at "site list"' -l format -x -a 'json yaml table' -d `);
  });
});
