import { Argument, type Command, Option } from 'commander';
import {
  NAME_KINDS,
  type NameKind,
  SHELLS,
  type Shell,
  completionScript,
  describeCommandTree,
} from '../completion.js';
import type { CliContext } from '../context.js';
import { usageError } from '../errors.js';

/** A shell waits for completions; a master that does not answer at once gets no say. */
const NAMES_TIMEOUT_MS = 2_000;

export function registerCompletionCommand(program: Command, ctx: CliContext): void {
  program
    .command('completion')
    .description('Print a shell completion script for berth (bash, zsh or fish)')
    .addArgument(new Argument('[shell]', 'the shell').choices(SHELLS))
    .option('--json', 'print the command tree the scripts are made from, as JSON')
    .addOption(
      new Option('--names <kind>', 'print the names of one kind, one a line, for the scripts')
        .choices(NAME_KINDS)
        .hideHelp(),
    )
    .addHelpText(
      'after',
      [
        '',
        "The script is generated from berth's own commands, so it lists exactly the subcommands and",
        'options this version has. Sites, platforms, servers and clients are completed with their names',
        'from the master (quietly; nothing when it cannot be reached within 2 s).',
        '',
        'Install:',
        "  bash  echo 'source <(berth completion bash)' >> ~/.bashrc",
        '        or: berth completion bash > ~/.local/share/bash-completion/completions/berth',
        "  zsh   echo 'source <(berth completion zsh)' >> ~/.zshrc   (after compinit; uses bashcompinit)",
        '  fish  berth completion fish > ~/.config/fish/completions/berth.fish',
      ].join('\n'),
    )
    .action(
      async (shell: Shell | undefined, options: { json?: boolean; names?: NameKind }, command: Command) => {
        if (options.names) {
          await printNames(ctx, command, options.names);
          return;
        }
        const tree = describeCommandTree(program);
        if (options.json) return ctx.printData(tree);
        if (!shell) throw usageError('Name the shell: berth completion bash|zsh|fish');
        ctx.io.stdout.write(completionScript(shell, tree));
      },
    );
}

/** Names for completion: one a line on stdout, and never an error message in the middle of a prompt. */
async function printNames(ctx: CliContext, command: Command, kind: NameKind): Promise<void> {
  try {
    const client = await ctx.client(command, { timeoutMs: NAMES_TIMEOUT_MS });
    let names: string[];
    switch (kind) {
      case 'site':
        names = (await client.listSites()).map((site) => site.domain);
        break;
      case 'platform':
        names = (await client.listPlatforms()).map((platform) => platform.name);
        break;
      case 'server':
        names = (await client.listServers()).map((server) => server.name);
        break;
      case 'client':
        names = (await client.listClients()).map((item) => item.name);
        break;
      case 'cluster':
        names = (await client.listClusters()).map((item) => item.name);
        break;
    }
    // Only names that are safe words for a shell's completion list.
    for (const name of names) if (/^[A-Za-z0-9._-]+$/.test(name)) ctx.out(name);
  } catch {
    // Quiet on purpose: the shell shows no completions instead of an error.
  }
}
