/**
 * The studio's command line, over the same core as the app.
 *   npm run cli -- inspect MODEL [--json]
 *   npm run cli -- convert MODEL --out OUT [--external-data NAME | --inline]
 *   npm run cli -- compress MODEL --recipe RECIPE.json --out OUT.onnx [--external-data NAME] [--samples DIR | --synthesize-samples] [--json]
 *   npm run cli -- eval ORIGINAL COMPRESSED [--samples DIR|FILE] [--json]
 *   npm run cli -- autotune MODEL --max-size RATIO | --min-fidelity X [--fastest] [--samples DIR|FILE] --out RECIPE.json [--json]
 * Expected failures (bad input, bad options): exit 2 with one line on stderr.
 * Anything else is a bug: exit 1 with one line.
 */
import { AppError, isAppError } from '../core/errors';
import { summarizeModel } from '../onnx/summary';
import { parseArgs, USAGE } from './args';
import { shutdown } from './shutdown';
import { compressCommand } from './compress';
import { convert } from './convert';
import { loadModelFromPath } from './fs-model';
import { formatSummary } from './inspect';

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

function print(lines: string[]): void {
  process.stdout.write(lines.join('\n') + '\n');
}

async function run(argv: string[]): Promise<number> {
  const cmd = parseArgs(argv);
  switch (cmd.kind) {
    case 'help':
      print([USAGE]);
      return 0;
    case 'inspect': {
      const loaded = loadModelFromPath(cmd.model);
      try {
        const summary = summarizeModel(loaded);
        if (cmd.json) print([JSON.stringify(summary, null, 2)]);
        else print(formatSummary(summary));
      } finally {
        loaded.external.close();
      }
      return 0;
    }
    case 'convert':
      print(convert(cmd));
      return 0;
    case 'compress':
      print(await compressCommand(cmd));
      return 0;
    case 'eval': {
      // loaded on use: the other commands start without the bench code
      const { evalCommand } = await import('./eval');
      print(await evalCommand(cmd));
      return 0;
    }
    case 'autotune': {
      // loaded on demand: the search code need not slow down the other commands' start
      const { autotuneCommand } = await import('./autotune');
      print(await autotuneCommand(cmd));
      return 0;
    }
  }
}

function fail(e: unknown): never {
  if (isAppError(e)) {
    process.stderr.write(`error: ${oneLine(e.message)}\n`);
    process.exit(2);
  }
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  process.stderr.write(`internal error: ${oneLine(msg)}\n`);
  if (process.env.CLI_STACK && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
}

process.on('uncaughtException', fail);
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  // `inspect | head` closes the pipe early: not an error.
  if (e.code === 'EPIPE') process.exit(0);
  fail(e);
});

run(process.argv.slice(2)).then(
  async (code) => {
    // onnxruntime-node's sessions and the threads that hold them ended in order, not torn down with the process (shutdown.ts)
    await shutdown();
    process.exitCode = code;
  },
  async (e: unknown) => {
    // (a command that failed after starting onnxruntime-node's sessions or threads ends them too)
    await shutdown();
    fail(e instanceof RangeError && /call stack|allocation/i.test(e.message) ? new AppError('malformed', `The model could not be processed: ${e.message}.`) : e);
  },
);
