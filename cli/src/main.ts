import { realpathSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { berthVersion, packageRoot } from '../../shared/src/package-root.js';
import { durationMs } from './parsers.js';
import { registerAgentCommands } from './commands/agent.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerNotifyCommands } from './commands/notify.js';
import { registerBackupCommands, registerStoreCommands } from './commands/backup.js';
import { registerClientCommands } from './commands/client.js';
import { registerProjectCommands } from './commands/project.js';
import { registerClusterCommands } from './commands/cluster.js';
import { registerCompletionCommand } from './commands/completion.js';
import { registerMasterCommands } from './commands/master.js';
import { registerPlatformCommands } from './commands/platform.js';
import { registerServerCommands } from './commands/server.js';
import { registerSiteCommands } from './commands/site.js';
import { registerTaskCommands } from './commands/task.js';
import { registerTokenCommands } from './commands/token.js';
import { CliContext, type CliIo } from './context.js';
import { DEFAULT_MASTER_URL } from './credentials.js';
import { CliError, ExitCode } from './errors.js';
import { addOutputOptions, prepareOutput, structuredErrorsWanted } from './output/output-options.js';

export type { CliIo } from './context.js';

const ROOT_HELP = `
Connection (every command that talks to the master):
  The master URL comes from --url, else BERTH_URL, else the saved credentials, else
  ${DEFAULT_MASTER_URL}. The API token comes from --token, else BERTH_TOKEN, else the saved
  credentials: credentials.json in $BERTH_CONFIG_DIR, $XDG_CONFIG_HOME/berth or ~/.config/berth.
  A saved token is only sent to the URL it was saved with.

Commands that start a task wait for it and show its progress and log on stderr; --no-wait prints
the task id instead. --json (every command has it) prints machine-readable JSON on stdout and
nothing else; progress still goes to stderr, and an error is reported as the last line on stderr,
one JSON object: {"error": {"message": ..., "exitCode": N, "code": ..., "details": [...]}}.
--format json|yaml|table (--json is --format json) prints the same data as JSON, YAML (errors as
JSON too) or a table whose columns are the JSON keys; --fields a,b,c keeps only those keys (of each
item, for a list), or chooses the table's columns. A list's --help names its fields.

The lists of sites, tasks, platforms, servers, clients and a site's backups come a page at a time
(--limit, default 100, at most 500): a line on stderr gives the cursor of the next page (--cursor),
and --all reads every page.

Shell completion: berth completion --help.

Exit codes:
  0  done (the task succeeded)
  1  the task failed or was cancelled, or the master had an internal error
  2  bad arguments, or the master refused the request
  3  the master could not be reached
  124  --timeout passed while waiting for a task (it keeps running on the master)
  130  stopped with Ctrl-C`;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('berth')
    .description('Berth: host Drupal sites across servers, and move them between codebases safely')
    .version(berthVersion(), '-V, --version', 'print the version')
    .option(
      '--url <url>',
      'the master API URL (default: BERTH_URL, saved credentials, or ' + DEFAULT_MASTER_URL + ')',
    )
    .option('--token <token>', 'the API token (default: BERTH_TOKEN or the saved credentials)')
    .option(
      '--timeout <duration>',
      'stop waiting for a task after this long (90, 90s, 5m, 1h); it keeps running on the master. Exit code 124',
      durationMs,
    )
    .hook('preAction', (_program, action) => {
      ctx.timeoutMs = action.optsWithGlobals<{ timeout?: number }>().timeout;
      ctx.output = prepareOutput(action);
    })
    .addHelpText('after', ROOT_HELP)
    .showHelpAfterError(ctx.jsonErrors ? false : '(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
      // With --json, report() prints commander's errors too, as JSON.
      outputError: (text, write) => {
        if (!ctx.jsonErrors) write(text);
      },
    });
  registerMasterCommands(program, ctx);
  registerAgentCommands(program, ctx);
  registerServerCommands(program, ctx);
  registerClientCommands(program, ctx);
  registerTokenCommands(program, ctx);
  registerClusterCommands(program, ctx);
  registerPlatformCommands(program, ctx);
  registerSiteCommands(program, ctx);
  registerProjectCommands(program, ctx);
  registerBackupCommands(program, ctx);
  registerStoreCommands(program, ctx);
  registerTaskCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerNotifyCommands(program, ctx);
  registerCompletionCommand(program, ctx);
  addOutputOptions(program);
  return program;
}

/**
 * Runs one berth command. `argv` is the arguments after the program name. Returns the exit code;
 * nothing here calls process.exit, so tests can run commands in-process.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const interrupt = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts++;
    if (interrupts > 1) io.forceExit?.(ExitCode.Interrupted);
    interrupt.abort();
  };
  io.signals?.on('SIGINT', onSignal);
  io.signals?.on('SIGTERM', onSignal);
  const ctx = new CliContext(io, interrupt.signal);
  ctx.jsonErrors = structuredErrorsWanted(argv);
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    return report(ctx, error);
  } finally {
    io.signals?.off('SIGINT', onSignal);
    io.signals?.off('SIGTERM', onSignal);
  }
}

function report(ctx: CliContext, error: unknown): number {
  if (ctx.jsonErrors) return reportJson(ctx, error);
  if (error instanceof CommanderError) {
    // Commander has printed the problem (or the help, or the version) already.
    return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  if (error instanceof CliError) {
    ctx.err(`berth: ${error.message}`);
    for (const line of error.details) ctx.err(`  ${line}`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  ctx.err(`berth: ${message}`);
  if (ctx.env.BERTH_DEBUG === '1' && error instanceof Error && error.stack) ctx.err(error.stack);
  else ctx.err('  (set BERTH_DEBUG=1 to see where it happened)');
  return ExitCode.Failed;
}

/** The error as one line of JSON on stderr, for a caller that parses what --json gives it. */
function reportJson(ctx: CliContext, error: unknown): number {
  let body: { message: string; exitCode: number; code?: string; details?: string[] };
  if (error instanceof CommanderError) {
    // Help and version were printed as asked; nothing went wrong.
    if (error.exitCode === 0) return ExitCode.Ok;
    body = { message: error.message.replace(/^error: /, ''), exitCode: ExitCode.Usage, code: error.code };
  } else if (error instanceof CliError) {
    body = { message: error.message, exitCode: error.exitCode, code: error.code, details: error.details };
  } else {
    body = { message: error instanceof Error ? error.message : String(error), exitCode: ExitCode.Failed };
  }
  ctx.io.stderr.write(JSON.stringify({ error: body }) + '\n');
  return body.exitCode;
}

function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signals: process,
    forceExit: (code) => process.exit(code),
    // Only a person at a terminal is asked (on stderr, so that stdout stays the command's output).
    ...(process.stdin.isTTY && process.stderr.isTTY ? { terminal: { ask: askOnTerminal } } : {}),
  };
}

async function askOnTerminal(question: string): Promise<string> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await prompt.question(question);
  } finally {
    prompt.close();
  }
}

/** True when this file is the program: run directly, or through bin/berth.js (also via a symlink). */
function isEntryPoint(): boolean {
  const invoked = process.argv[1];
  if (!invoked) return false;
  let path: string;
  try {
    path = realpathSync(invoked);
  } catch {
    return false;
  }
  return path === fileURLToPath(import.meta.url) || path === join(packageRoot(), 'bin', 'berth.js');
}

if (isEntryPoint()) {
  const code = await runCli(process.argv.slice(2));
  // Exit now rather than when the event loop drains: a master or agent that failed half-way through
  // starting can leave handles open. Writes to pipes, files and terminals are synchronous here.
  process.exit(code);
}
