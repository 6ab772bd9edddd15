import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Raster } from '../types';
import { VideoError } from '../errors';
import { openEncoder, type EncodeSettings, type FrameSink } from './encoder';
import type { FormatSpec } from './formats';
import { syncPath, type SegmentRecord } from './journal';
import { layoutOf, type FrameLayout } from './pixels';
import type { Paths } from './plan';
import { framesIn, segmentPath } from './work-folder';

/**
 * Writes output frames into segments of `segmentFrames` frames. A segment is encoded under a .part
 * name, checked (its frame count), synced and renamed, and only then listed in the journal: a kill at
 * any moment leaves finished segments that a resume can trust, and at most one .part to throw away.
 * Who lists them is the caller's: the local render's journal, or a farm worker's job result.
 */
export class SegmentWriter {
  private current: { record: SegmentRecord; sink: FrameSink; path: string } | undefined;
  /** The first frame's layout (the output's size and depth). */
  layout: FrameLayout | undefined;

  constructor(
    private readonly d: {
      paths: Paths;
      format: FormatSpec;
      segmentFrames: number;
      /** A segment is in place under its final name: record it (the journal, a job result). */
      onSegment: (record: SegmentRecord) => Promise<void>;
      /** Makes the .part name unique to this writer (farm workers that may hold the same segment). */
      partTag?: string;
      /** Last check before the rename (a farm worker: is the render still waiting for this segment?). */
      beforeRename?: () => Promise<void>;
      ffmpeg: string;
      ffprobe: string;
      encodeSettings: () => EncodeSettings;
      note: (n: string) => void;
      signal?: AbortSignal;
      /** After each commit (progress). */
      onCommit?: () => void;
    },
  ) {}

  /** Appends frame `rel` (counted from the start of the range) to the open segment, opening one if needed. */
  async write(rel: number, raster: Raster): Promise<void> {
    const { paths, format, segmentFrames } = this.d;
    if (!this.current) {
      const segIndex = Math.floor(rel / segmentFrames);
      const record: SegmentRecord = {
        index: segIndex,
        firstFrame: rel,
        frames: 0,
        name: basename(segmentPath(paths.workDir, format, segIndex)),
      };
      const path = segmentPath(paths.workDir, format, segIndex, this.d.partTag ?? true);
      await rm(path, { recursive: true, force: true });
      const layout = layoutOf(raster);
      this.layout ??= layout;
      let target: { path: string; startNumber?: number };
      if (format.kind === 'video') target = { path };
      else {
        await mkdir(path, { recursive: true });
        target = {
          path: join(path, format.kind === 'stack' ? `page_%06d.${format.ext}` : (paths.pattern as string)),
          startNumber: rel + 1,
        };
      }
      const sink = openEncoder(this.d.ffmpeg, this.d.encodeSettings(), layout, target, this.d.signal);
      for (const n of sink.notes) this.d.note(n);
      this.current = { record, sink, path };
    }
    await this.current.sink.write(raster);
    this.current.record.frames += 1;
  }

  /** The open segment has all its frames: time to commit it. */
  get full(): boolean {
    return this.current?.record.frames === this.d.segmentFrames;
  }

  /** Finishes the open segment (if any), checks it and lists it in the journal. */
  async commit(): Promise<void> {
    const seg = this.current;
    if (!seg) return;
    this.current = undefined;
    const { paths, format } = this.d;
    const finalPath = segmentPath(paths.workDir, format, seg.record);
    try {
      await seg.sink.finish();
      const actual = await framesIn(this.d.ffprobe, format, seg.path);
      if (actual !== seg.record.frames) {
        throw new VideoError(
          `${seg.path}: segment holds ${actual} frames, ${seg.record.frames} were written`,
          'ENCODE_FAILED',
          seg.path,
        );
      }
      await syncPath(seg.path);
      await this.d.beforeRename?.();
      await rename(seg.path, finalPath);
    } catch (err) {
      // A segment that did not make it (a full disk while finishing it) is not left as a .part.
      await rm(seg.path, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
    await this.d.onSegment(seg.record);
    this.d.onCommit?.();
  }

  /** Stops the encoder and deletes the unfinished segment; finished ones stay for a resume. */
  async abort(): Promise<void> {
    const seg = this.current;
    if (!seg) return;
    this.current = undefined;
    await seg.sink.abort().catch(() => undefined);
    await rm(seg.path, { recursive: true, force: true }).catch(() => undefined);
  }
}
