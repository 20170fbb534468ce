// The `salvo` command: parses arguments with commander, runs a subcommand, and returns the
// documented exit code. Rendering lives in src/ui; running lives in src/pool.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import { EXECUTOR_TYPES } from '../api/executors.js';
import { EXIT, SalvoError, describeError, exitCodeFor } from '../errors.js';
import { registerCertsCommand } from './certs.js';
import { registerJobCommands } from './job-commands.js';
import { registerNodeCommands } from './node-commands.js';
import { runCommand } from './run.js';
import { addRunFeatureOptions } from './run-features.js';
import { pingUrlOption } from './ping-protocols.js';
import { pingCommand, serveCommand, demoCommand } from './tools.js';
import { starterWorkflow } from './starter.js';
import { REPORT_KINDS_HELP, compareCommand, reportCommand, reportOption } from './report.js';
import {
  durationOption,
  headerOption,
  portOption,
  positiveIntOption,
  msDurationOption,
  positiveNumberOption,
  urlOption,
} from './options.js';
import { SALVO_VERSION } from '../version.js';
import { availableParallelism } from 'node:os';
import { setHandledErrorSink } from '../handled-errors.js';

const EXIT_CODES_HELP = `
Exit codes:
  0    the run completed and every threshold passed
  1    internal error (a bug in Salvo; please report it)
  2    bad options or a bad workflow file (missing, syntax or type error, cycle, invalid config)
  3    the run completed but a threshold failed
  4    the run failed: a setup/teardown hook failed or timed out, a workflow was skipped,
       no request succeeded (e.g. the target is unreachable), a step failed in every
       execution, no iteration of a workflow finished, or the workflow called process.exit()
  5-12 client commands (submit, jobs, status, watch, cancel): 5 no gate answered,
       6 not authenticated, 7 bundle too large, 8 unknown datacenter, 9 no workers,
       10 idempotency key reused with another file, 11 unknown job, 12 rate limited
  130  interrupted (Ctrl-C); partial results were written`;

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('salvo')
    .description(
      'Load and performance testing: write a workflow in TypeScript, run it on every core, watch it live.',
    )
    .version(SALVO_VERSION, '-v, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s.replace(/^error: /, 'salvo: ')),
    })
    .addHelpText('after', EXIT_CODES_HELP);

  addRunFeatureOptions(program.command('run'))
    .description('Run a workflow file (.ts or .js) on every core and write its results.')
    .argument('<file>', 'the workflow file')
    .option(
      '--vus <n>',
      'virtual users: for constant executors the count, for ramping ones the peak, for arrival-rate ones the pre-allocated pool',
      positiveIntOption(1_000_000),
    )
    .option(
      '--duration <duration>',
      'how long each workflow runs, e.g. 30s, 1m30s (ramping stages are stretched to fit)',
      durationOption,
    )
    .option(
      '--rate <n>',
      'iterations per time unit for arrival-rate executors (ramping ones: the peak)',
      positiveNumberOption,
    )
    .option(
      '--workers <n>',
      `worker threads (default: one per core, ${availableParallelism()} here)`,
      positiveIntOption(256),
    )
    .option(
      '--target <url>',
      "base URL for the workflows' relative requests (overrides baseUrl in the file)",
      urlOption,
    )
    .option(
      '--out <file>',
      'write the results JSON here (default: ./salvo-results/<workflow>-<time>.json)',
    )
    .option('--csv <file>', 'also write per-step results as CSV')
    .addOption(
      new Option(
        '--grace <duration>',
        'after Ctrl-C, how long in-flight requests may finish (e.g. 3s, or 3000 for ms)',
      )
        .argParser(msDurationOption)
        .default(3000, '3s'),
    )
    .option(
      '--no-check',
      'skip type-checking the workflow file (esbuild still reports syntax errors)',
    )
    .option('--no-color', 'plain output without colours')
    .option('-q, --quiet', 'no live view and no summary; results are still written')
    .option(
      '--report <kind[:options]>',
      'also send results to a reporter (repeatable; kinds listed below)',
      reportOption,
    )
    .option(
      '--report-timeout <duration>',
      'after the run, how long reporters may take to deliver the rest (default 15s)',
      durationOption,
    )
    .option('--dashboard', 'serve a live dashboard during the run, then write it as <out>.html')
    .option('--dashboard-port <port>', 'dashboard port (default: a free one)', portOption)
    .addHelpText(
      'after',
      `${REPORT_KINDS_HELP}

Executors: ${EXECUTOR_TYPES.join(', ')}.
Flags override the file: --vus, --duration and --rate apply to every workflow in it.

Examples:
  salvo run load.ts
  salvo run load.ts --vus 50 --duration 1m --out results.json
  salvo run load.ts --target http://127.0.0.1:8080 --workers 2 -q
${EXIT_CODES_HELP}`,
    )
    .action(async (file: string, opts: Record<string, unknown>) => {
      setExit(await runCommand(file, opts, io));
    });

  program
    .command('report')
    .description('Write the HTML report (one self-contained file) of a saved results JSON.')
    .argument('<results>', 'a results file written by salvo run')
    .option('-o, --out <file>', 'where to write it (default: <results>.html)')
    .action(async (file: string, opts: { out?: string }) => {
      setExit(await reportCommand(file, opts, io));
    });

  program
    .command('compare')
    .description(
      'Compare two results files per step (p50/p99, throughput, error rate); exit 3 if anything regressed.',
    )
    .argument('<base>', 'the baseline results file')
    .argument('<new>', 'the results file to judge')
    .option('-o, --out <file>', 'also write the comparison as HTML')
    .action(async (base: string, next: string, opts: { out?: string }) => {
      setExit(await compareCommand(base, next, opts, io));
    });

  program
    .command('new')
    .description('Write a commented starter workflow to FILE.')
    .argument('<file>', 'where to write it, e.g. load.ts')
    .option('-f, --force', 'overwrite FILE if it exists')
    .action(async (file: string, opts: { force?: boolean }) => {
      if (existsSync(file) && !opts.force) {
        throw new SalvoError('E_USAGE', `${file} already exists; use --force to overwrite it`);
      }
      const name =
        (file.split('/').pop() ?? 'workflow')
          .replace(/\.[cm]?[jt]s$/, '')
          .replace(/[^A-Za-z0-9_-]/g, '-') || 'workflow';
      await writeFile(file, starterWorkflow(name));
      io.stdout.write(`wrote ${file}\nrun it with:  salvo run ${file}\n`);
      setExit(EXIT.ok);
    });

  program
    .command('ping')
    .description(
      'Send one request (HTTP/1.1, HTTP/2, WebSocket, gRPC, TCP, UDP, SMTP, FTP) and show what came back and how long it took.',
    )
    .argument(
      '<url>',
      'a URL: http(s)://, h2:// or h2c:// (HTTP/2), ws(s)://, grpc(s)://, tcp://, tls://, udp://, smtp(s)://, ftp(s):// (http:// is assumed without a scheme)',
      pingUrlOption,
    )
    .addOption(new Option('-X, --method <method>', 'HTTP method').default('GET'))
    .option(
      '-H, --header <header>',
      "a request header 'Name: value' (repeatable)",
      headerOption,
      {},
    )
    .option('-d, --data <body>', 'request body')
    .addOption(
      new Option('--timeout <duration>', 'give up after this long (e.g. 10s, or 10000 for ms)')
        .argParser(msDurationOption)
        .default(10_000, '10s'),
    )
    .option('-k, --insecure', 'accept any TLS certificate')
    .option('-L, --follow <n>', 'follow up to n redirects', positiveIntOption(50))
    .action(async (url: string, opts: Record<string, unknown>) => {
      setExit(await pingCommand(url, opts, io));
    });

  program
    .command('serve')
    .description('Run the embedded target server, for trying workflows without a real service.')
    .option('-p, --port <port>', 'port to listen on (0 picks a free one)', portOption, 8080)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option(
      '--peers',
      'also serve HTTP/2 (h2c), WebSocket, gRPC, TCP and UDP peers on the next five ports',
    )
    .action(async (opts: { port: number; host: string; peers?: boolean }) => {
      setExit(await serveCommand(opts, io));
    });

  program
    .command('demo')
    .description(
      'Start the embedded target and run examples/quickstart.ts against it with the live view.',
    )
    .option('--duration <duration>', 'how long the demo runs', durationOption, 10_000)
    .option('--workers <n>', 'worker threads (default: one per core)', positiveIntOption(256))
    .action(async (opts: Record<string, unknown>) => {
      setExit(await demoCommand(opts, io));
    });

  registerCertsCommand(program, io, setExit);
  registerJobCommands(program, io, setExit);
  registerNodeCommands(program, io, setExit);

  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let code: number = EXIT.ok;
  // Errors recovered from by design (e.g. an unreadable bundle cache) are always counted;
  // SALVO_DEBUG=1 also prints each one.
  if (process.env['SALVO_DEBUG'] === '1') {
    setHandledErrorSink((site, message) => io.stderr.write(`salvo: debug: ${site}: ${message}\n`));
  }
  const program = buildProgram(io, (c) => (code = c));
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT.badInput;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      ) {
        return EXIT.ok;
      }
      return EXIT.badInput; // commander already printed the message
    }
    io.stderr.write(`salvo: ${describeError(error)}\n`);
    if (!(error instanceof SalvoError) && error instanceof Error && error.stack)
      io.stderr.write(`${error.stack}\n`);
    return exitCodeFor(error);
  }
}
