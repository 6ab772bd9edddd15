import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../engine/index';
import type { Recipe } from '../shared/api';
import { scaleHints } from '../shared/hints';
import { OP_INFO } from '../shared/ops';
import { scaleMaskEdits } from '../shared/repair';
import type { RenderEngine } from './engine';
import type { LibraryLayout } from './layout';
import { recipeHash } from './recipe';
import type { Store } from './store';

/** Previews kept on disk; older ones are removed (they are cheap to make again). */
const KEEP_PREVIEWS = 400;

/**
 * Small renders for the asset view: the live render-factor preview and the sweep strip. They start
 * from the display copy shrunk to `maxEdge`, so moving the slider costs a fraction of a real render;
 * identical requests share one render and later ones are served from the cache folder.
 */
type Made = { media: string; width: number; height: number; mask?: string } | { superseded: true };

export class Previewer {
  private readonly inFlight = new Map<string, Promise<Made>>();
  /** The live preview being made: a newer, different one cancels it (the user moved the slider on). */
  private live: { name: string; abort: AbortController } | null = null;
  private made = 0;

  constructor(
    private readonly store: Store,
    private readonly layout: LibraryLayout,
    private readonly engine: () => Promise<RenderEngine>,
  ) {}

  /**
   * `live` previews supersede each other: starting one stops the previous live one at its next tile
   * or step, and that request answers `superseded` instead of queueing ahead of the one wanted now.
   * Sweeps are not live: their sizes are all wanted.
   */
  async render(
    assetId: number,
    recipe: Recipe,
    maxEdge: number,
    opts: { live?: boolean; frame?: { path: string; tag: string } } = {},
  ): Promise<Made & { ms: number }> {
    const t0 = performance.now();
    const asset = this.store.assetRow(assetId);
    // A film's preview may start from a chosen frame (the scrubber) instead of its display copy.
    const base = opts.frame?.path ?? asset.view_path;
    if (!base)
      throw new Error(
        `${asset.source_path ?? asset.path}: cannot preview: ${asset.problem ?? 'no display copy'}`,
      );
    const dir = this.layout.previewDir();
    const tag = opts.frame ? `-${opts.frame.tag}` : '';
    const name = `p-${assetId}${tag}-${maxEdge}-${recipeHash(recipe)}.jpg`;
    const out = join(dir, name);
    let abort: AbortController | undefined;
    if (opts.live) {
      if (this.live && this.live.name !== name) this.live.abort.abort();
      if (this.live?.name !== name) this.live = { name, abort: new AbortController() };
      abort = this.live.abort;
    }
    let pending = this.inFlight.get(name);
    if (!pending) {
      // Hints are in the picture's pixels; the preview starts from a shrunk copy of it.
      const edge = Math.max(asset.width ?? 0, asset.height ?? 0);
      pending = this.make(base, `${assetId}${tag}`, maxEdge, recipe, out, name, abort?.signal, edge).finally(
        () => {
          this.inFlight.delete(name);
          if (this.live?.name === name) this.live = null;
        },
      );
      this.inFlight.set(name, pending);
    }
    const r = await pending;
    return { ...r, ms: performance.now() - t0 };
  }

  private async make(
    viewRel: string,
    baseId: string,
    maxEdge: number,
    recipe: Recipe,
    out: string,
    name: string,
    signal?: AbortSignal,
    originalEdge = 0,
  ): Promise<Made> {
    const dir = this.layout.previewDir();
    const masked = recipe.ops.some((op) => OP_INFO[op].takesMask);
    const maskName = name.replace(/\.jpg$/, '-mask.png');
    if (!existsSync(out) || (masked && !existsSync(join(dir, maskName)))) {
      await mkdir(dir, { recursive: true });
      const src = join(dir, `src-${baseId}-${maxEdge}.png`);
      if (!existsSync(src)) {
        await sharp(this.layout.abs(viewRel))
          .resize(maxEdge, maxEdge, { fit: 'inside', withoutEnlargement: true })
          .png()
          .toFile(src);
      }
      const engine = await this.engine();
      if (signal?.aborted) return { superseded: true };
      let options = recipe.options;
      if ((options.hints?.length || options.maskEdits?.length) && originalEdge > 0) {
        // The long side, so EXIF rotation (which swaps width and height) does not matter.
        const m = await sharp(src).metadata();
        const k = Math.max(m.width ?? 0, m.height ?? 0) / originalEdge;
        options = {
          ...options,
          ...(options.hints?.length ? { hints: scaleHints(options.hints, k) } : {}),
          ...(options.maskEdits?.length ? { maskEdits: scaleMaskEdits(options.maskEdits, k) } : {}),
        };
      }
      const result = await engine.processFile(
        {
          input: src,
          output: out,
          ops: recipe.ops,
          options,
          watermark: recipe.watermark,
          format: 'jpg',
          overwrite: true,
          // The repair mask it used, for the overlay the user edits it on.
          saveMask: masked ? join(dir, maskName) : undefined,
        },
        undefined,
        signal,
      );
      if (result.cancelled) return { superseded: true };
      if (!result.ok) throw new Error(result.error ?? `preview of ${this.layout.abs(viewRel)} failed`);
      if (masked) {
        // What the app lays over the photo: red, opaque where repaired, transparent elsewhere.
        const mask = join(dir, maskName);
        const { width, height } = await sharp(mask).metadata();
        const overlay = await sharp({ create: { width, height, channels: 3, background: '#ff2828' } })
          .joinChannel(await sharp(mask).toColourspace('b-w').raw().toBuffer(), {
            raw: { width, height, channels: 1 },
          })
          .png()
          .toBuffer();
        await writeFileAtomic(mask, overlay, { overwrite: true });
      }
      if (++this.made % 50 === 0) void this.prune();
    }
    const meta = await sharp(out).metadata();
    return {
      media: `preview/${name}`,
      width: meta.width ?? 0,
      height: meta.height ?? 0,
      ...(masked ? { mask: `preview/${maskName}` } : {}),
    };
  }

  private async prune(): Promise<void> {
    const dir = this.layout.previewDir();
    const names = (await readdir(dir)).filter((n) => n.startsWith('p-'));
    if (names.length <= KEEP_PREVIEWS) return;
    const dated = await Promise.all(
      names.map(async (n) => ({ n, t: (await stat(join(dir, n)).catch(() => null))?.mtimeMs ?? 0 })),
    );
    dated.sort((a, b) => a.t - b.t);
    await Promise.all(
      dated.slice(0, dated.length - KEEP_PREVIEWS).map(({ n }) => rm(join(dir, n), { force: true })),
    );
  }
}
