import {
  ActionIcon,
  Alert,
  Badge,
  Box,
  Button,
  Card,
  Checkbox,
  Group,
  Loader,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
  Tooltip,
  UnstyledButton,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useState, type DragEvent } from 'react';
import { useApiEvent } from '../api/context';
import { dragRenderOut } from '../api/drag-out';
import { importDropped } from '../api/upload';
import type { Asset, AssetKind, AssetStatus, Project } from '../../../shared/api';
import { useApi } from '../api/context';
import { formatFilmLength, plural } from '../format';
import { useRemote } from '../state/remote';
import { IconExport, IconFilm, IconImport, IconLayers, IconPlay, IconTrash } from './icons';
import { useConfirm } from './Confirm';
import { useToast } from './Toasts';
import { ColourBadge } from './ColourNotice';

const STATUS_COLOR: Record<AssetStatus, string> = {
  new: 'gray',
  queued: 'yellow',
  running: 'blue',
  rendered: 'green',
  failed: 'red',
  unreadable: 'red',
};

function AssetCard({
  asset,
  status,
  selected,
  onToggle,
  onOpen,
}: {
  asset: Asset;
  /** The asset's status with what the job events said since the list was loaded (running, done). */
  status: AssetStatus;
  selected: boolean;
  onToggle: (range: boolean) => void;
  onOpen: () => void;
}) {
  const api = useApi();
  const thumb = asset.latestRender?.thumb ?? asset.thumb;
  // A card with a finished render drags that render out of the window (to a folder, another app).
  const finished = asset.latestRender?.status === 'done' ? asset.latestRender : null;
  return (
    <Card
      padding={6}
      radius="md"
      withBorder
      data-testid="asset-card"
      data-name={asset.name}
      data-status={status}
      style={{
        outline: selected ? '2px solid var(--mantine-primary-color-filled)' : undefined,
        position: 'relative',
      }}
    >
      {/* The card opens from the keyboard too (Enter/Space); Ctrl/Shift+click selects. The checkbox
          sits beside this button, not inside it, so no control is nested in another. */}
      <UnstyledButton
        title={`Open ${asset.name}`}
        draggable={finished !== null}
        onDragStart={(e) => finished && dragRenderOut(api, e, finished, asset.name)}
        data-testid="asset-open"
        onClick={(e) => (e.ctrlKey || e.metaKey || e.shiftKey ? onToggle(e.shiftKey) : onOpen())}
        style={{ display: 'block', width: '100%', cursor: 'pointer', borderRadius: 6 }}
      >
        <Card.Section
          style={{
            position: 'relative',
            height: 170,
            background: 'var(--mantine-color-default-hover)',
            display: 'flex',
            alignItems: 'center',
            justifyContent: 'center',
            overflow: 'hidden',
          }}
        >
          {thumb ? (
            <img
              src={api.mediaUrl(thumb)}
              alt=""
              loading="lazy"
              style={{ width: '100%', height: '100%', objectFit: 'contain' }}
              draggable={false}
            />
          ) : (
            <Text size="xs" c="red" p="xs" ta="center">
              {asset.problem ? 'Cannot read this file' : 'No preview'}
            </Text>
          )}
          {asset.kind !== 'photo' && (
            <Badge
              size="xs"
              variant="filled"
              color="dark"
              style={{ position: 'absolute', top: 6, right: 6 }}
              leftSection={asset.kind === 'video' ? <IconFilm size={10} /> : <IconLayers size={10} />}
            >
              {asset.kind === 'video' ? formatFilmLength(asset.durationSec) : `${asset.pages ?? ''} frames`}
            </Badge>
          )}
          <ColourBadge asset={asset} />
        </Card.Section>
        <Group justify="space-between" gap={4} mt={6} wrap="nowrap">
          <Text size="xs" truncate title={asset.sourcePath} style={{ minWidth: 0, flex: 1 }}>
            {asset.name}
          </Text>
          <Badge
            size="sm"
            variant="light"
            color={STATUS_COLOR[status]}
            style={{ flexShrink: 0, overflow: 'visible' }}
            data-testid="asset-status"
          >
            {status}
          </Badge>
        </Group>
      </UnstyledButton>
      <Checkbox
        aria-label={`Select ${asset.name}`}
        checked={selected}
        onChange={() => onToggle(false)}
        style={{ position: 'absolute', top: 12, left: 12 }}
        data-testid="asset-select"
      />
    </Card>
  );
}

export function LibraryView(props: {
  project: Project;
  selection: Set<number>;
  setSelection: (s: Set<number>) => void;
  onOpen: (id: number, visible: number[]) => void;
  onImport: () => void;
  onBatch: () => void;
  onExport: (renderIds: number[]) => void;
}) {
  const { project, selection, setSelection } = props;
  const api = useApi();
  const toast = useToast();
  const [query, setQuery] = useState('');
  const [kind, setKind] = useState<AssetKind | null>(null);
  const [status, setStatus] = useState<AssetStatus | null>(null);
  const [q] = useDebouncedValue(query, 200);
  const [dragging, setDragging] = useState(false);
  const [anchor, setAnchor] = useState<number | null>(null);
  const [confirmElement, confirm] = useConfirm();
  const assets = useRemote(
    () =>
      api.call('assets.list', {
        projectId: project.id,
        query: q || undefined,
        kind: kind ?? undefined,
        status: status ?? undefined,
      }),
    [project.id, q, kind, status],
    (e) =>
      (e.type === 'library' && (e.projectId === null || e.projectId === project.id)) ||
      (e.type === 'job' && e.job.status !== 'running'),
  );
  const list = assets.data ?? [];
  // Jobs starting and ending move a card's badge at once; the list reloads only when one ends.
  const [liveStatus, setLiveStatus] = useState<Map<number, AssetStatus>>(new Map());
  useApiEvent((e) => {
    if (e.type !== 'job') return;
    const s: AssetStatus | null =
      e.job.status === 'running' ? 'running' : e.job.status === 'queued' ? 'queued' : null;
    setLiveStatus((m) => {
      if (s === null ? !m.has(e.job.assetId) : m.get(e.job.assetId) === s) return m;
      const next = new Map(m);
      if (s === null) next.delete(e.job.assetId);
      else next.set(e.job.assetId, s);
      return next;
    });
  });

  const toggle = (id: number, range: boolean) => {
    const next = new Set(selection);
    if (range && anchor !== null) {
      const a = list.findIndex((x) => x.id === anchor);
      const b = list.findIndex((x) => x.id === id);
      for (const x of list.slice(Math.min(a, b), Math.max(a, b) + 1)) next.add(x.id);
    } else if (next.has(id)) next.delete(id);
    else next.add(id);
    setAnchor(id);
    setSelection(next);
  };

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const files = [...e.dataTransfer.files];
    // A card dragged and let go over the grid again, or text: nothing to import.
    if (files.length === 0) return;
    try {
      const r = await importDropped(api, project.id, files);
      toast({
        title: `Imported ${plural(r.added.length, 'item')}`,
        message: `${r.duplicates.length} already here${r.errors.length ? `; ${r.errors.map((x) => x.error).join('; ')}` : ''}`,
        color: r.errors.length ? 'yellow' : undefined,
      });
    } catch (err) {
      toast({ title: 'Import failed', message: (err as Error).message, color: 'red' });
    }
  };

  const selectedAssets = list.filter((a) => selection.has(a.id));
  const exportable = selectedAssets
    .map((a) => a.latestRender?.id)
    .filter((x): x is number => typeof x === 'number');
  const remove = async () => {
    const ok = await confirm({
      title: `Remove ${selection.size} item${selection.size === 1 ? '' : 's'}?`,
      message: `They leave "${project.name}" with their renders. Your original files are not touched.`,
      confirm: 'Remove',
      danger: true,
    });
    if (!ok) return;
    await api.call('assets.remove', { ids: [...selection] });
    setSelection(new Set());
  };

  return (
    <Box
      style={{ height: '100%', position: 'relative' }}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => void onDrop(e)}
      data-testid="library-view"
    >
      <Stack gap="sm">
        <Group justify="space-between">
          <Title order={3} data-testid="project-title">
            {project.name}
          </Title>
          <Group gap="xs">
            <Button
              size="xs"
              variant="default"
              leftSection={<IconImport size={14} />}
              onClick={props.onImport}
              data-testid="import-button"
            >
              Import
            </Button>
            <Button
              size="xs"
              leftSection={<IconPlay size={14} />}
              onClick={props.onBatch}
              disabled={list.length === 0}
              data-testid="batch-button"
            >
              Batch…
            </Button>
          </Group>
        </Group>
        <Group gap="xs">
          <TextInput
            size="xs"
            placeholder="Search names and folders"
            value={query}
            onChange={(e) => setQuery(e.currentTarget.value)}
            w={260}
            data-testid="search"
          />
          <Select
            size="xs"
            placeholder="All kinds"
            clearable
            w={130}
            value={kind}
            onChange={(v) => setKind(v as AssetKind | null)}
            data={[
              { value: 'photo', label: 'Photos' },
              { value: 'video', label: 'Videos' },
              { value: 'stack', label: 'Stacks' },
            ]}
          />
          <Select
            size="xs"
            placeholder="Any status"
            clearable
            w={140}
            value={status}
            onChange={(v) => setStatus(v as AssetStatus | null)}
            data={['new', 'queued', 'running', 'rendered', 'failed', 'unreadable']}
            data-testid="status-filter"
          />
          <Text size="xs" c="dimmed">
            {plural(list.length, 'item')}
            {selection.size ? ` · ${selection.size} selected` : ''}
          </Text>
          {selection.size > 0 && (
            <Group gap={4}>
              <Button size="compact-xs" variant="subtle" onClick={() => setSelection(new Set())}>
                Clear selection
              </Button>
              <Tooltip label="Export the latest render of each selected item">
                <ActionIcon
                  variant="subtle"
                  disabled={exportable.length === 0}
                  onClick={() => props.onExport(exportable)}
                  aria-label="Export selected"
                >
                  <IconExport size={16} />
                </ActionIcon>
              </Tooltip>
              <Tooltip label="Remove from project">
                <ActionIcon
                  variant="subtle"
                  color="red"
                  onClick={() => void remove()}
                  aria-label="Remove selected"
                >
                  <IconTrash size={16} />
                </ActionIcon>
              </Tooltip>
            </Group>
          )}
          {list.length > 0 && selection.size < list.length && (
            <Button
              size="compact-xs"
              variant="subtle"
              onClick={() => setSelection(new Set(list.map((a) => a.id)))}
            >
              Select all
            </Button>
          )}
        </Group>
        {assets.error && <Alert color="red">{assets.error}</Alert>}
        {!assets.data && assets.loading && <Loader size="sm" />}
        {assets.data && list.length === 0 && (
          <Stack align="center" py={60} gap="xs" data-testid="empty-project">
            <Text c="dimmed">
              {q || kind || status ? 'Nothing matches.' : 'No photos or films here yet.'}
            </Text>
            {!q && !kind && !status && (
              <Text c="dimmed" size="sm">
                Drop files or folders here, or use Import.
              </Text>
            )}
          </Stack>
        )}
        <SimpleGrid cols={{ base: 2, sm: 3, lg: 4, xl: 5 }} spacing="sm" data-testid="asset-grid">
          {list.map((a) => (
            <AssetCard
              key={a.id}
              asset={a}
              status={a.problem ? 'unreadable' : (liveStatus.get(a.id) ?? a.status)}
              selected={selection.has(a.id)}
              onToggle={(range) => toggle(a.id, range)}
              onOpen={() =>
                props.onOpen(
                  a.id,
                  list.map((x) => x.id),
                )
              }
            />
          ))}
        </SimpleGrid>
      </Stack>
      {confirmElement}
      {dragging && (
        <Box
          style={{
            position: 'absolute',
            inset: 0,
            border: '3px dashed var(--mantine-primary-color-filled)',
            borderRadius: 12,
            background: 'rgba(100,140,255,0.08)',
            pointerEvents: 'none',
          }}
        />
      )}
    </Box>
  );
}
