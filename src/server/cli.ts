import { Command } from 'commander';
import { serve } from './serve';

/**
 * `node out/main/serve.js` (or `tintype serve`): the headless server. Prints the URL (with its
 * one-time token) on stdout; --json prints one JSON line instead, for scripts and tests.
 * `argv` is shaped like process.argv (two leading entries, then options), so the CLI can hand over
 * its own with "serve" in second place. Resolves when the server has stopped.
 */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('tintype serve')
    .description('Serve the Tintype UI and API on 127.0.0.1 (headless mode)')
    .option('-p, --port <n>', 'port (0 picks a free one)', '0')
    .option('--data-dir <dir>', 'per-user data folder (settings, logs, default library)')
    .option('--library <dir>', 'library folder (overrides the saved library location)')
    .option('--models <dirs...>', 'model folders (default: bundled models, then the user models folder)')
    .option('--token <token>', 'use this token instead of a random one')
    .option('--static <dir>', 'built renderer to serve (default: out/renderer)')
    .option('--json', 'print {"url","port","token"} as one JSON line')
    .option('-v, --verbose', 'log to stderr too')
    .parse(argv);
  const o = program.opts<{
    port: string;
    dataDir?: string;
    library?: string;
    models?: string[];
    token?: string;
    static?: string;
    json?: boolean;
    verbose?: boolean;
  }>();
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    program.error(`--port: not a port number: ${o.port}`);

  const s = await serve({
    port,
    dataDir: o.dataDir,
    libraryDir: o.library,
    modelDirs: o.models,
    token: o.token,
    staticDir: o.static,
    verbose: o.verbose,
  });
  if (o.json) process.stdout.write(`${JSON.stringify({ url: s.url, port: s.port, token: s.token })}\n`);
  else process.stdout.write(`Tintype is serving at ${s.url}\n(open it in a browser; press Ctrl+C to stop)\n`);

  // Resolves once the server has shut down (Ctrl+C or SIGTERM), so a caller can await the whole run.
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      s.log.info(`serve: ${signal}, shutting down`);
      void s.close().then(done);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
