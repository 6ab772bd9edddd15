/**
 * A farm job names its models by op; a worker resolves the same chain from them. Repair runs two
 * models under one op (its detector and the filler it uses), so the worker must not take one for
 * the other. Bundled models only: no Redis needed.
 */
import { describe, expect, it } from 'vitest';
import { bundledModelsDir, ModelRegistry, resolveModelChain } from '../../src/engine/index';
import { chainPayload, checkChain } from '../../src/farm/models';

describe('farm model chain', () => {
  const registry = new ModelRegistry({ dirs: [bundledModelsDir()] });

  it.each([
    [['repair'], true],
    [['repair', 'colorize'], true],
    [['repair', 'restore'], false],
  ] as const)('a worker resolves %j (film %s) to the coordinator’s models', async (ops, film) => {
    const chain = await resolveModelChain(registry, ops, {}, { film });
    const ids = (c: typeof chain) => c.models.map((m) => `${m.op}:${m.manifest.task}:${m.manifest.id}`);
    expect(chain.models.map((m) => m.manifest.task)).toContain('inpaint');
    const worker = await checkChain(registry, chainPayload(chain), { film });
    expect(ids(worker)).toEqual(ids(chain));
    expect(worker.processorKey).toBe(chain.processorKey);
  });
});
