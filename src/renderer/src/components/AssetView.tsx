import {
  ActionIcon,
  Alert,
  Badge,
  Box,
  Button,
  Divider,
  Group,
  Loader,
  ScrollArea,
  SegmentedControl,
  Stack,
  Text,
  Title,
  Tooltip,
  UnstyledButton,
} from '@mantine/core';
import { useDebouncedValue, useHotkeys } from '@mantine/hooks';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ModelInfo, Recipe, Render } from '../../../shared/api';
import { describeOps } from '../../../shared/ops';
import { useApi } from '../api/context';
import { formatBytes, formatFilmLength, renderFactor } from '../format';
import { useRemote } from '../state/remote';
import { CompareViewer, FIT, zoomAt, type CompareMode, type ViewState } from './CompareViewer';
import { FilmBar, FilmPlayer, StackBar, useFilm, type FilmMode } from './FilmPanel';
import { IconBack, IconNext, IconPlay } from './icons';
import { useConfirm } from './Confirm';
import { describeRender, RenderHistory } from './RenderHistory';
import { DEFAULT_BRUSH, HintCanvas, HintControls, useAssetHints, withHints, withoutHints } from './HintTool';
import {
  DEFAULT_MASK_BRUSH,
  hintAsStroke,
  MASK_COLOUR,
  MaskControls,
  strokesAsHints,
  useMaskEdits,
  withMaskEdits,
  withoutMaskEdits,
} from './MaskTool';
import { RecipePanel, renderRange } from './RecipePanel';
import { colourBlocks, ColourNotice } from './ColourNotice';
import { ColorizerOffer } from './ColorizerOffer';
import { useToast } from './Toasts';

type After =
  { kind: 'preview'; media: string; label: string; mask?: string } | { kind: 'render'; render: Render };

const describeRecipe = (r: Recipe): string => describeOps(r.ops, r.options);

/** Sizes for the sweep strip: five steps across the colorize model's range, on 16 px (render_factor) steps. */
function sweepSizes(range: { min: number; max: number }): number[] {
  const out = new Set<number>();
  const lo = Math.ceil(range.min / 16) * 16;
  const hi = Math.floor(range.max / 16) * 16;
  for (let i = 0; i < 5; i++) out.add(Math.round((lo + ((hi - lo) * i) / 4) / 16) * 16);
  return [...out].filter((s) => s >= range.min && s <= range.max);
}

export function AssetView(props: {
  assetId: number;
  neighbours: number[];
  onNavigate: (id: number) => void;
  onBack: () => void;
  recipe: Recipe;
  setRecipe: (r: Recipe) => void;
  models: ModelInfo[];
  onExport: (renderIds: number[]) => void;
}) {
  const { assetId, setRecipe, models } = props;
  // Colour hints belong to this photo: the shared recipe never keeps them; the one this photo is
  // previewed and rendered with has them added (HintTool.tsx). A recipe that arrives with hints
  // (reusing a render's settings) hands them to this photo.
  const hintState = useAssetHints(assetId);
  const [brush, setBrush] = useState(DEFAULT_BRUSH);
  const [painting, setPainting] = useState(false);
  // The repair mask's strokes are this photo's in the same way (MaskTool.tsx).
  const maskState = useMaskEdits(assetId);
  const [maskBrush, setMaskBrush] = useState(DEFAULT_MASK_BRUSH);
  const [editingMask, setEditingMask] = useState(false);
  useEffect(() => {
    const { hints, maskEdits } = props.recipe.options;
    if (hints) hintState.replace(hints);
    if (maskEdits) maskState.replace(maskEdits);
    if (hints || maskEdits) setRecipe(withoutMaskEdits(withoutHints(props.recipe)));
  }, [props.recipe]);
  const recipe = useMemo(
    () => withMaskEdits(withHints(props.recipe, hintState.hints), maskState.edits),
    [props.recipe, hintState.hints, maskState.edits],
  );
  const api = useApi();
  const toast = useToast();
  const detail = useRemote(
    () => api.call('assets.get', { id: assetId }),
    [assetId],
    (e) =>
      (e.type === 'job' &&
        e.job.assetId === assetId &&
        (e.job.status === 'done' || e.job.status === 'failed')) ||
      e.type === 'library',
  );
  const [mode, setMode] = useState<CompareMode>('slider');
  const [view, setView] = useState<ViewState>(FIT);
  const [after, setAfter] = useState<After | null>(null);
  const [previewBusy, setPreviewBusy] = useState(false);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const [live, setLive] = useState(true);
  const [sweep, setSweep] = useState<{ renderSize: number; media: string; ms: number }[] | null>(null);
  const [sweeping, setSweeping] = useState(false);
  const [rendering, setRendering] = useState(false);
  const [colourAnyway, setColourAnyway] = useState(false);
  /** A second render shown as "before", to compare two renders with each other. */
  const [compareBase, setCompareBase] = useState<Render | null>(null);
  const [confirmDialog, confirm] = useConfirm();
  const [debouncedRecipe] = useDebouncedValue(recipe, 150);
  const asset = detail.data?.asset;
  const renders = useMemo(() => detail.data?.renders ?? [], [detail.data]);
  // Films and stacks: the scrubber's frame is the base of the live preview; a film can also play.
  const film = useFilm(asset);
  const chosenFrame = useRef(film.chosen);
  chosenFrame.current = film.chosen;
  const frameKey = film.chosen ? JSON.stringify(film.chosen) : null;

  // A new asset starts from its latest render, or from a preview when it has none.
  useEffect(() => {
    setAfter(null);
    setSweep(null);
    setView(FIT);
    setPreviewError(null);
    setColourAnyway(false);
    setCompareBase(null);
  }, [assetId]);
  const latestDone = renders.find((r) => r.status === 'done') ?? null;
  useEffect(() => {
    if (after === null && latestDone) setAfter({ kind: 'render', render: latestDone });
  }, [after, latestDone]);

  const assetRef = useRef(asset);
  assetRef.current = asset;
  // Only the newest preview request may land: the server stops the ones it supersedes, and an answer
  // to an older request that still arrives is dropped here.
  const previewSeq = useRef(0);
  const runPreview = useCallback(
    async (r: Recipe) => {
      const a = assetRef.current;
      if (!a || a.problem || r.ops.length === 0) return;
      const seq = ++previewSeq.current;
      setPreviewBusy(true);
      try {
        const p = await api.call('preview.render', {
          assetId: a.id,
          recipe: r,
          maxEdge: 320,
          ...chosenFrame.current,
        });
        if (seq !== previewSeq.current || assetRef.current?.id !== a.id) return; // moved on meanwhile
        if (p.superseded || !p.media) return;
        setAfter({
          kind: 'preview',
          media: p.media,
          mask: p.mask,
          label: `Preview ${p.width}×${p.height} · ${Math.round(p.ms)} ms`,
        });
        setPreviewError(null);
      } catch (err) {
        if (seq === previewSeq.current) setPreviewError((err as Error).message);
      } finally {
        if (seq === previewSeq.current) setPreviewBusy(false);
      }
    },
    [api],
  );

  // Live preview: every recipe change (the render-size slider included) re-renders a small preview.
  // An item that already has a render shows that render until the recipe is changed.
  const openedWith = useRef<{ id: number; recipe: Recipe; at: string | null } | null>(null);
  const hasRender = useRef(false);
  hasRender.current = latestDone !== null;
  const assetReady = asset?.id ?? null;
  useEffect(() => {
    if (!live || assetReady === null) return;
    const at = frameKey;
    if (openedWith.current?.id !== assetReady) {
      openedWith.current = { id: assetReady, recipe: debouncedRecipe, at };
      if (hasRender.current) return;
    } else if (
      openedWith.current.recipe === debouncedRecipe &&
      openedWith.current.at === at &&
      hasRender.current
    )
      return;
    openedWith.current = { id: assetReady, recipe: debouncedRecipe, at };
    void runPreview(debouncedRecipe);
    // Only a recipe change, another frame of a film or stack or another item starts a preview; a
    // reload of the render list does not.
  }, [debouncedRecipe, live, assetReady, runPreview, frameKey]);

  const render = async () => {
    setRendering(true);
    try {
      const r = await api.call('batch.start', {
        target: { kind: 'assets', ids: [assetId] },
        recipe,
        skipDone: true,
        colourInputs: colourAnyway ? 'colorize' : 'skip',
      });
      if (r.skippedColour.length)
        toast({ title: 'Not rendered: already in colour', message: r.skippedColour[0].reason });
      else if (r.queued === 0) {
        const done = renders.find(
          (x) => x.status === 'done' && JSON.stringify(x.recipe) === JSON.stringify(recipe),
        );
        if (done) setAfter({ kind: 'render', render: done });
        toast({
          title: 'Already rendered',
          message: 'This photo already has a render with exactly these settings.',
        });
      }
    } catch (err) {
      toast({ title: 'Could not start the render', message: (err as Error).message, color: 'red' });
    } finally {
      setRendering(false);
    }
  };

  // When a render of this asset finishes, show it.
  const newest = renders[0];
  const newestId = newest?.id;
  useEffect(() => {
    if (newest && newest.status === 'done' && Date.now() - newest.createdAt < 10_000)
      setAfter({ kind: 'render', render: newest });
    // Only a new render id should switch the view, not every reload of the same list.
  }, [newestId]);

  const deleteRender = async (r: Render) => {
    const ok = await confirm({
      title: `Delete render #${r.id}?`,
      message: `${describeRecipe(r.recipe)}: its file in the library and its entry here are removed. The original and exported copies stay.`,
      confirm: 'Delete render',
      danger: true,
    });
    if (!ok) return;
    try {
      await api.call('renders.delete', { id: r.id });
      if (after?.kind === 'render' && after.render.id === r.id) setAfter(null);
      if (compareBase?.id === r.id) setCompareBase(null);
    } catch (err) {
      toast({ title: 'Could not delete the render', message: (err as Error).message, color: 'red' });
    }
  };

  const runSweep = async () => {
    if (!asset) return;
    setSweeping(true);
    try {
      const r = await api.call('preview.sweep', {
        assetId: asset.id,
        recipe,
        sizes: sweepSizes(renderRange(recipe, models)),
        maxEdge: 192,
      });
      setSweep(r.items);
    } catch (err) {
      toast({ title: 'Sweep failed', message: (err as Error).message, color: 'red' });
    } finally {
      setSweeping(false);
    }
  };

  const idx = props.neighbours.indexOf(assetId);
  const prev = idx > 0 ? props.neighbours[idx - 1] : null;
  const next = idx >= 0 && idx < props.neighbours.length - 1 ? props.neighbours[idx + 1] : null;
  const viewer = useRef<HTMLDivElement | null>(null);
  /** Keyboard zoom keeps the middle of the (left) pane where it is. */
  const zoomCentre = (factor: number) => {
    const r = viewer.current?.getBoundingClientRect();
    const w = r ? (mode === 'side' ? r.width / 2 : r.width) : 0;
    setView((v) => zoomAt(v, factor, w / 2, (r?.height ?? 0) / 2));
  };
  // Shortcuts work everywhere except while typing; arrow keys belong to a focused slider (render
  // size, divider) before they mean previous/next.
  const when =
    (fn: () => void, opts: { arrows?: boolean } = {}) =>
    (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      const typing =
        !!t &&
        (t.tagName === 'TEXTAREA' ||
          t.isContentEditable ||
          (t.tagName === 'INPUT' &&
            !['radio', 'checkbox', 'button', 'range'].includes((t as HTMLInputElement).type)));
      if (typing || (opts.arrows && t?.closest?.('[role="slider"], [role="radiogroup"]'))) return;
      fn();
    };
  useHotkeys(
    [
      ['c', when(() => setMode((m) => (m === 'slider' ? 'side' : 'slider')))],
      ['=', when(() => zoomCentre(1.25))],
      ['plus', when(() => zoomCentre(1.25))],
      ['shift+plus', when(() => zoomCentre(1.25))],
      ['minus', when(() => zoomCentre(0.8))],
      ['0', when(() => setView(FIT))],
      ['ArrowLeft', when(() => prev && props.onNavigate(prev), { arrows: true })],
      ['ArrowRight', when(() => next && props.onNavigate(next), { arrows: true })],
      ['Escape', when(props.onBack)],
    ],
    [],
  );

  if (detail.error)
    return (
      <Alert color="red" title="Cannot open this item">
        {detail.error}
      </Alert>
    );
  if (!asset) return <Loader m="xl" />;

  const afterUrl = after
    ? api.mediaUrl(after.kind === 'preview' ? after.media : (after.render.view ?? ''))
    : null;
  const afterLabel = after
    ? after.kind === 'preview'
      ? after.label
      : `Render #${after.render.id} · ${describeRecipe(after.render.recipe)}`
    : 'After';

  return (
    <Box style={{ display: 'flex', height: '100%', gap: 12 }} data-testid="asset-view">
      {confirmDialog}
      <Stack style={{ flex: 1, minWidth: 0 }} gap="xs">
        {/* When the title and the view controls do not both fit (a film's extra control, the queue
            open at 1280 px), the controls go to a second line: the back button and the title stay. */}
        <Group justify="space-between" wrap="wrap" style={{ rowGap: 4 }}>
          <Group gap="xs" wrap="nowrap" style={{ minWidth: 0, flex: '1 1 380px' }}>
            <Tooltip label="Back to the library (Esc)">
              <Button
                size="compact-sm"
                variant="subtle"
                onClick={props.onBack}
                data-testid="back-to-library"
                style={{ flexShrink: 0 }}
              >
                Library
              </Button>
            </Tooltip>
            <Tooltip label="Previous (←)">
              <ActionIcon
                variant="subtle"
                disabled={!prev}
                onClick={() => prev && props.onNavigate(prev)}
                aria-label="Previous"
              >
                <IconBack />
              </ActionIcon>
            </Tooltip>
            <Tooltip label="Next (→)">
              <ActionIcon
                variant="subtle"
                disabled={!next}
                onClick={() => next && props.onNavigate(next)}
                aria-label="Next"
              >
                <IconNext />
              </ActionIcon>
            </Tooltip>
            <Title
              order={4}
              style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}
              data-testid="asset-title"
            >
              {asset.name}
            </Title>
          </Group>
          <Group gap="xs" wrap="nowrap" ml="auto">
            {film.isFilm && (
              <SegmentedControl
                size="xs"
                value={film.mode}
                onChange={(v) => film.setMode(v as FilmMode)}
                data={[
                  { value: 'frame', label: 'Frame' },
                  { value: 'watch', label: 'Watch' },
                ]}
                aria-label="Film: compare a frame or watch"
                data-testid="film-mode"
              />
            )}
            {/* Watching has its own "beside the source"; the compare modes are for frames. */}
            {!(film.isFilm && film.mode === 'watch') && (
              <SegmentedControl
                size="xs"
                value={mode}
                onChange={(v) => setMode(v as CompareMode)}
                data={[
                  { value: 'slider', label: 'Slider' },
                  { value: 'side', label: 'Side by side' },
                ]}
                data-testid="compare-mode"
              />
            )}
          </Group>
        </Group>
        <Box
          ref={viewer}
          style={{
            flex: 1,
            minHeight: 0,
            borderRadius: 8,
            overflow: 'hidden',
            background: 'var(--mantine-color-default-hover)',
          }}
        >
          {asset.problem ? (
            <Alert color="red" title="This file cannot be read" m="md">
              {asset.problem}
            </Alert>
          ) : film.isFilm && film.mode === 'watch' ? (
            <FilmPlayer film={film} asset={asset} renders={renders} />
          ) : editingMask &&
            recipe.ops.includes('repair') &&
            !film.isFilm &&
            asset.view &&
            asset.width &&
            asset.height ? (
            // The photo as it is (a stack: the frame the scrubber chose, which the preview and
            // its mask are made from), the mask repair used over it in red, the strokes on top.
            <HintCanvas
              src={api.mediaUrl(film.frame?.media ?? asset.view)}
              overlay={after?.kind === 'preview' && after.mask ? api.mediaUrl(after.mask) : undefined}
              width={asset.width}
              height={asset.height}
              hints={strokesAsHints(maskState.edits)}
              brush={{
                size: maskBrush.size,
                color: MASK_COLOUR,
                strength: 1,
                erase: maskBrush.erase,
                show: true,
              }}
              onStroke={(h) => maskState.add(hintAsStroke(h))}
              label="The repair mask"
            />
          ) : painting &&
            recipe.ops.includes('colorize') &&
            !film.isFilm &&
            asset.view &&
            asset.width &&
            asset.height ? (
            <HintCanvas
              src={api.mediaUrl(
                after?.kind === 'preview'
                  ? after.media
                  : after?.kind === 'render' && after.render.view
                    ? after.render.view
                    : (film.frame?.media ?? asset.view),
              )}
              width={asset.width}
              height={asset.height}
              hints={hintState.hints}
              brush={brush}
              onStroke={hintState.add}
              label={afterLabel}
            />
          ) : (
            <CompareViewer
              before={
                compareBase?.view
                  ? api.mediaUrl(compareBase.view)
                  : film.frame
                    ? api.mediaUrl(film.frame.media)
                    : asset.view
                      ? api.mediaUrl(asset.view)
                      : null
              }
              beforeFull={
                compareBase
                  ? compareBase.full && api.mediaUrl(compareBase.full)
                  : asset.full && !film.frame
                    ? api.mediaUrl(asset.full)
                    : null
              }
              beforeLabel={compareBase ? `Render ${describeRender(compareBase)}` : undefined}
              after={afterUrl}
              afterFull={
                after?.kind === 'render' && after.render.full ? api.mediaUrl(after.render.full) : null
              }
              pixels={
                after?.kind === 'render' && after.render.width && after.render.height
                  ? { width: after.render.width, height: after.render.height }
                  : asset.width && asset.height
                    ? { width: asset.width, height: asset.height }
                    : null
              }
              afterLabel={afterLabel}
              mode={mode}
              view={view}
              onView={setView}
              busy={previewBusy}
            />
          )}
        </Box>
        {film.isFilm && film.mode === 'frame' && <FilmBar film={film} asset={asset} recipe={recipe} />}
        {film.isStack && <StackBar film={film} asset={asset} />}
        {sweep && (
          <ScrollArea type="auto" scrollbars="x" data-testid="sweep-strip" data-scroll-x>
            <Group gap="xs" wrap="nowrap" pb={6}>
              {sweep.map((s) => {
                const chosen =
                  (recipe.options.renderSize ?? renderRange(recipe, models).default) === s.renderSize;
                return (
                  <UnstyledButton
                    key={s.renderSize}
                    onClick={() =>
                      setRecipe({
                        ...props.recipe,
                        options: { ...props.recipe.options, renderSize: s.renderSize },
                      })
                    }
                    style={{
                      border: `2px solid ${chosen ? 'var(--mantine-primary-color-filled)' : 'transparent'}`,
                      borderRadius: 6,
                      padding: 2,
                    }}
                    data-testid={`sweep-${s.renderSize}`}
                  >
                    <img
                      src={api.mediaUrl(s.media)}
                      alt={`render size ${s.renderSize}`}
                      style={{ height: 110, display: 'block', borderRadius: 4 }}
                    />
                    <Text size="xs" ta="center">
                      {s.renderSize} px · rf {renderFactor(s.renderSize)}
                    </Text>
                  </UnstyledButton>
                );
              })}
            </Group>
          </ScrollArea>
        )}
      </Stack>

      <ScrollArea w={330} miw={300} type="auto" scrollbars="y" data-testid="asset-side">
        <Stack gap="sm" pr="md">
          <Group gap={6}>
            <Badge variant="light">{asset.kind}</Badge>
            {asset.width && (
              <Badge variant="default">
                {asset.width}×{asset.height}
              </Badge>
            )}
            {asset.depth && asset.depth > 8 && <Badge variant="default">{asset.depth}-bit</Badge>}
            {asset.pages && <Badge variant="default">{asset.pages} frames</Badge>}
            {asset.durationSec !== null && (
              <Badge variant="default">{formatFilmLength(asset.durationSec)}</Badge>
            )}
            <Badge variant="default">{formatBytes(asset.size)}</Badge>
          </Group>
          <Text size="xs" c="dimmed" style={{ wordBreak: 'break-all' }} title={asset.sourcePath}>
            {asset.sourcePath}
          </Text>
          <Divider label="Recipe" labelPosition="left" />
          <RecipePanel recipe={props.recipe} onChange={setRecipe} models={models} />
          <ColourNotice asset={asset} recipe={recipe} anyway={colourAnyway} onAnyway={setColourAnyway} />
          {recipe.ops.includes('repair') && !film.isFilm && (
            <MaskControls
              state={maskState}
              brush={maskBrush}
              onBrush={setMaskBrush}
              editing={editingMask}
              onEditing={(on) => {
                setEditingMask(on);
                if (on) setPainting(false);
              }}
            />
          )}
          {recipe.ops.includes('colorize') && !film.isFilm && (
            <HintControls
              state={hintState}
              brush={brush}
              onBrush={setBrush}
              painting={painting}
              onPainting={(on) => {
                setPainting(on);
                if (on) setEditingMask(false);
              }}
              onError={(message) => toast({ title: 'Hints not loaded', message, color: 'red' })}
            />
          )}
          {recipe.ops.includes('colorize') && <ColorizerOffer where="recipe" />}
          <Group gap="xs">
            <Button
              size="xs"
              variant={live ? 'light' : 'default'}
              onClick={() => setLive((l) => !l)}
              data-testid="live-toggle"
            >
              Live preview {live ? 'on' : 'off'}
            </Button>
            <Button
              size="xs"
              variant="default"
              onClick={() => void runPreview(recipe)}
              loading={previewBusy}
              disabled={recipe.ops.length === 0 || !!asset.problem}
              data-testid="preview-button"
            >
              Preview
            </Button>
            <Button
              size="xs"
              variant="default"
              onClick={() => void runSweep()}
              loading={sweeping}
              disabled={!recipe.ops.includes('colorize') || !!asset.problem}
              data-testid="sweep-button"
            >
              Sweep sizes
            </Button>
          </Group>
          {previewError && (
            <Alert color="red" p="xs" data-testid="preview-error">
              <Text size="xs">{previewError}</Text>
            </Alert>
          )}
          <Button
            leftSection={<IconPlay size={14} />}
            onClick={() => void render()}
            loading={rendering}
            disabled={recipe.ops.length === 0 || !!asset.problem || colourBlocks(asset, recipe, colourAnyway)}
            data-testid="render-button"
            aria-describedby={
              asset.problem || colourBlocks(asset, recipe, colourAnyway) ? 'render-blocked' : undefined
            }
          >
            Render full size
          </Button>
          {asset.problem && (
            <Text size="xs" c="red.9" id="render-blocked" data-testid="render-blocked">
              Cannot render: this file could not be read ({asset.problem}).
            </Text>
          )}
          {!asset.problem && colourBlocks(asset, recipe, colourAnyway) && (
            <Text size="xs" c="dimmed" id="render-blocked" data-testid="render-blocked">
              Not rendered: already in colour. Tick “Colorize it anyway” or turn colorize off.
            </Text>
          )}
          <Divider label="Renders" labelPosition="left" />
          <RenderHistory
            renders={renders}
            shownId={after?.kind === 'render' ? after.render.id : null}
            compareId={compareBase?.id ?? null}
            onShow={(r) => setAfter({ kind: 'render', render: r })}
            onReuse={(r) => {
              // The render's hints become this photo's again (none if it had none).
              hintState.replace(r.recipe.options.hints ?? []);
              maskState.replace(r.recipe.options.maskEdits ?? []);
              setRecipe(withoutMaskEdits(withoutHints(r.recipe)));
              toast({ title: `Settings of render #${r.id} reused`, message: describeRecipe(r.recipe) });
            }}
            onCompare={(r) => {
              setCompareBase(r);
              if (r) setMode('side');
            }}
            onDelete={(r) => void deleteRender(r)}
            onExport={(r) => props.onExport([r.id])}
            // Bound: the HTTP client's downloadUrl reads its token from `this`.
            downloadUrl={api.downloadUrl ? (id) => api.downloadUrl!(id) : undefined}
          />
          <Text size="xs" c="dimmed">
            Keys: C compare mode · + / − zoom · 0 fit · ← → previous/next · Esc library
          </Text>
        </Stack>
      </ScrollArea>
    </Box>
  );
}
