import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { Argument, Command, InvalidArgumentError } from 'commander';
import { formatBytes } from '../shared/catalog';
import type { DownloadProgress, ModelListing } from '../shared/catalog';
import { TASKS } from '../shared/manifest';
import type { ManifestInput, Task } from '../shared/manifest';
import { CatalogError } from '../engine/index';

// The catalog (downloads, ONNX probing) loads on demand, so other commands start faster.
const catalog = () => import('../engine/catalog');
import { formatSeconds } from './progress';

/**
 * `tintype models list|install|remove|import|verify|default`. A thin shell over
 * src/engine/catalog: parsing options, printing and asking; the work is done there.
 */

export interface ModelsIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether progress may redraw one line in place. */
  interactive: boolean;
  /** Asks a yes/no question; false when nobody can answer. */
  confirm(question: string): Promise<boolean>;
}

const defaultIo: ModelsIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  interactive: Boolean(process.stderr.isTTY),
  async confirm(question) {
    if (!process.stdin.isTTY) return false;
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
    } finally {
      rl.close();
    }
  },
};

function statusOf(row: ModelListing): string {
  if (row.installed) return row.installed.origin === 'catalog' ? 'installed' : row.installed.origin;
  if (row.partialBytes > 0) return `partial ${formatBytes(row.partialBytes)}`;
  return 'available';
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return (
    rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') +
    '\n'
  );
}

function progressLine(p: DownloadProgress): string {
  if (p.phase !== 'download') {
    const words = {
      hash: 'fetching the publisher hash',
      verify: 'checking hash and shapes',
      install: 'installing',
      done: 'done',
    };
    return `${p.id}: ${words[p.phase]}`;
  }
  const pct = p.totalBytes ? ` ${Math.floor((100 * p.receivedBytes) / p.totalBytes)}%` : '';
  const eta = p.etaSeconds !== null ? ` ETA ${formatSeconds(p.etaSeconds)}` : '';
  const resumed = p.resumedFromBytes > 0 ? ` (resumed at ${formatBytes(p.resumedFromBytes)})` : '';
  return `${p.id}: ${formatBytes(p.receivedBytes)} / ${formatBytes(p.totalBytes)}${pct} ${formatBytes(p.bytesPerSecond)}/s${eta}${resumed}`;
}

/** Redraws one line on a terminal; elsewhere prints a line per phase and every 10%. */
function progressPrinter(io: ModelsIo): { update(p: DownloadProgress): void; end(): void } {
  let lastPhase = '';
  let lastDecile = -1;
  let drawn = false;
  return {
    update(p) {
      const line = progressLine(p);
      if (io.interactive) {
        io.err(`\r${line.padEnd(78)}`);
        drawn = true;
        return;
      }
      const decile = p.totalBytes ? Math.floor((10 * p.receivedBytes) / p.totalBytes) : -1;
      if (p.phase !== lastPhase || (p.phase === 'download' && decile !== lastDecile)) io.err(`${line}\n`);
      lastPhase = p.phase;
      lastDecile = decile;
    },
    end() {
      if (drawn) io.err('\n');
      drawn = false;
    },
  };
}

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2 || n > 8)
    throw new InvalidArgumentError('scale must be a whole number from 2 to 8');
  return n;
};

/**
 * Adds `models` to the program. `setExit` receives a non-zero exit code when a check fails
 * (verify); errors are thrown as CatalogError for the caller's error printer.
 */
export function registerModelsCommand(
  program: Command,
  opts: { setExit?: (code: number) => void; io?: ModelsIo } = {},
): void {
  const io = opts.io ?? defaultIo;
  const setExit =
    opts.setExit ??
    ((code: number) => {
      process.exitCode = code;
    });
  const models = program
    .command('models')
    .description(
      'list, download, import and check models (user models folder: $TINTYPE_MODELS_DIR or the app data folder)',
    );

  models
    .command('list')
    .description('models in the catalog and on disk: status, size, licence')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const rows = await (await catalog()).listModels();
      if (o.json) {
        io.out(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      io.out(
        table([
          ['ID', 'TASK', 'STATUS', 'SIZE', 'LICENSE', 'NAME'],
          ...rows.map((r) => [
            r.id,
            r.task,
            statusOf(r),
            formatBytes(r.installed ? r.installed.sizeOnDisk : r.downloadBytes),
            r.license,
            r.name,
          ]),
        ]),
      );
    });

  models
    .command('install')
    .description(
      'download a catalog model, check its hash and shapes, install it (resumes an interrupted download)',
    )
    .argument('<id>', 'catalog id (see `tintype models list`)')
    .option('--force', 'reinstall when already installed')
    .option('--json', 'print the installed model as JSON')
    .action(async (id: string, o: { force?: boolean; json?: boolean }) => {
      const ac = new AbortController();
      const onSigint = () => ac.abort();
      process.once('SIGINT', onSigint);
      const bar = progressPrinter(io);
      try {
        const m = await (
          await catalog()
        ).installModel(id, {
          force: o.force,
          signal: ac.signal,
          onProgress: (p) => bar.update(p),
        });
        bar.end();
        if (o.json) io.out(`${JSON.stringify(m, null, 2)}\n`);
        else io.out(`installed ${m.id} (${formatBytes(m.sizeOnDisk)}) in ${m.dir}\n`);
      } finally {
        bar.end();
        process.off('SIGINT', onSigint);
      }
    });

  models
    .command('remove')
    .description('delete a downloaded or imported model (and any interrupted download of it)')
    .argument('<id>')
    .action(async (id: string) => {
      const r = await (await catalog()).removeModel(id);
      io.out(
        r.removed
          ? `removed ${id} (${formatBytes(r.removed.sizeOnDisk)} freed)\n`
          : `removed the interrupted download of ${id} (${formatBytes(r.partialBytes)})\n`,
      );
    });

  models
    .command('import')
    .description('add your own .onnx: probes its conventions, shows a manifest to confirm, copies it in')
    .argument('<file>', 'the .onnx file (it is copied, never changed)')
    .option('--id <id>', 'model id (default: from the file name)')
    .option('--name <name>', 'display name')
    .option('--license <license>', "the weights' licence")
    .option('--manifest <file>', 'use this manifest (JSON) instead of the probed one, without asking')
    .option('-y, --yes', 'accept the probed manifest without asking')
    .option('--dry-run', 'print the proposed manifest (JSON, to edit and pass back with --manifest) and stop')
    .option('--overwrite', 'replace a model with the same id')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        file: string,
        o: {
          id?: string;
          name?: string;
          license?: string;
          manifest?: string;
          yes?: boolean;
          dryRun?: boolean;
          overwrite?: boolean;
          json?: boolean;
        },
      ) => {
        const overrides: Partial<ManifestInput> = {
          ...(o.id ? { id: o.id } : {}),
          ...(o.name ? { name: o.name } : {}),
          ...(o.license ? { license: o.license } : {}),
        };
        let manifest: ManifestInput;
        if (o.manifest) {
          let given: unknown;
          try {
            given = JSON.parse(await readFile(o.manifest, 'utf8'));
          } catch (err) {
            throw new CatalogError(
              `${o.manifest}: cannot read the manifest (${(err as Error).message})`,
              'BAD_MANIFEST',
            );
          }
          manifest = { ...(given as ManifestInput), ...overrides };
        } else {
          const probe = await (await catalog()).probeOnnx(file, { id: o.id, name: o.name });
          if (!probe.proposal) {
            throw new CatalogError(
              `${file} cannot be used by Tintype:\n  - ${probe.problems.join('\n  - ')}`,
              'BAD_MODEL',
            );
          }
          manifest = { ...probe.proposal, ...overrides };
          if (o.dryRun) {
            io.out(`${JSON.stringify(o.json ? { ...probe, proposal: manifest } : manifest, null, 2)}\n`);
            return;
          }
          io.err(`${file}:\n${probe.findings.map((f) => `  ${f}\n`).join('')}`);
          if (probe.uncertain.length > 0)
            io.err(`please check:\n${probe.uncertain.map((u) => `  ! ${u}\n`).join('')}`);
          io.err(`proposed manifest:\n${JSON.stringify(manifest, null, 2)}\n`);
          if (manifest.license === 'unknown') io.err('  (set the licence with --license)\n');
          if (!o.yes && !(await io.confirm('Import with this manifest?'))) {
            throw new CatalogError(
              'not imported: confirm with --yes, or save the proposal with --dry-run, edit it and pass it with --manifest',
              'CANCELLED',
            );
          }
        }
        const m = await (await catalog()).importModel(file, manifest, { overwrite: o.overwrite });
        if (o.json) io.out(`${JSON.stringify(m, null, 2)}\n`);
        else io.out(`imported ${m.id} (${m.task}) into ${m.dir}\n`);
      },
    );

  models
    .command('verify')
    .description(
      're-check installed models: file hash against the manifest, graph shapes against its conventions',
    )
    .argument('[ids...]', 'only these models')
    .option('--json', 'print JSON')
    .action(async (ids: string[], o: { json?: boolean }) => {
      const results = await (
        await catalog()
      ).verifyModels(ids, {
        onResult: (r) => {
          if (!o.json)
            io.out(
              r.ok
                ? `ok      ${r.id}\n`
                : `FAILED  ${r.id}\n${r.problems.map((p) => `        ${p}\n`).join('')}`,
            );
        },
      });
      if (o.json) io.out(`${JSON.stringify(results, null, 2)}\n`);
      if (results.some((r) => !r.ok)) setExit(1);
    });

  models
    .command('default')
    .description('make a model the default for its task (upscale: per scale)')
    .addArgument(new Argument('<task>').choices(TASKS))
    .argument('<id>', 'model id, or "none" to clear')
    .option('--scale <n>', 'upscale factor this default is for', positiveInt)
    .action(async (task: string, id: string, o: { scale?: number }) => {
      const rows = await (await catalog()).listModels();
      const row = rows.find((r) => r.id === id && r.installed);
      if (id !== 'none') {
        if (!row) throw new CatalogError(`${id} is not installed`, 'NOT_INSTALLED');
        if (row.task !== task)
          throw new CatalogError(`${id} is a ${row.task} model, not ${task}`, 'BAD_MANIFEST');
      }
      await (
        await catalog()
      ).setDefaultModel(task as Task, id === 'none' ? null : id, {
        scale: o.scale ?? row?.installed?.manifest.scale,
      });
      io.out(id === 'none' ? `cleared the ${task} default\n` : `${id} is now the default for ${task}\n`);
    });
}
