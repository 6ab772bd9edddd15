import { Command, CommanderError } from 'commander';
import { errorMessage } from '../engine/index';
import { registerImageCommands } from './image-command';
import { registerModelsCommand } from './models-command';
import { registerVideoCommand } from './video-command';
import { registerWorkerCommand } from './worker-command';

/** Builds the `tintype` command line. Sub-commands register themselves here. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('tintype')
    .description('Restore old photos and film: colorize, restore (decrappify) and upscale, offline.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerImageCommands(program, setExit);
  registerVideoCommand(program);
  registerModelsCommand(program, { setExit });
  registerWorkerCommand(program);
  program
    .command('serve')
    .description("serve the app's UI and API on 127.0.0.1, for a browser (headless mode)")
    .allowUnknownOption()
    .helpOption(false)
    .argument('[options...]', 'see "tintype serve --help"')
    .action(async (args: string[]) => {
      // Loaded on demand: the server pulls in SQLite and the library, which other commands never need.
      const { main: serve } = await import('../server/cli');
      await serve(['node', 'tintype serve', ...args]);
    });
  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    return 1;
  }
}
