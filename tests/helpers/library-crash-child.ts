/**
 * Child process for tests/library/library-crash.test.ts: runs a batch slowly and reports each finished job,
 * so the test can kill it with SIGKILL in the middle of the batch.
 * Usage: tsx tests/helpers/library-crash-child.ts <libraryDir> <photosDir>
 */
import { join } from 'node:path';
import { LibraryService } from '../../src/library/service';
import { sharpProcessor, testCatalog } from './library-helpers';

const [libraryDir, photos] = process.argv.slice(2);
const svc = new LibraryService({
  dataDir: join(libraryDir, '..', 'data'),
  libraryDir,
  engineFactory: () => sharpProcessor({ delayMs: 400 }),
  catalog: testCatalog,
  mode: 'server',
  version: 'test',
});
svc.on((e) => {
  if (e.type === 'job' && e.job.status === 'done')
    process.stdout.write(`done ${e.job.id} ${e.job.renderId}\n`);
  if (e.type === 'job' && e.job.status === 'running' && e.job.progress > 0)
    process.stdout.write(`rendering ${e.job.id}\n`);
});
const project = svc.createProject({ name: 'crash' });
const started = await svc.startBatch({
  target: { kind: 'folder', projectId: project.id, path: photos },
  recipe: { ops: ['colorize'], options: { renderSize: 256 }, watermark: false },
  skipDone: true,
});
process.stdout.write(`queued ${started.queued}\n`);
svc.start();
