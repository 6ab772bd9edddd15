import { ActionIcon, Group, Stack, Text, Tooltip, UnstyledButton } from '@mantine/core';
import type { Render } from '../../../shared/api';
import { describeOps } from '../../../shared/ops';
import { formatMs } from '../format';
import { IconCompare, IconDownload, IconExport, IconReuse, IconTrash } from './icons';

export const describeRender = (r: Render): string =>
  `#${r.id} ${describeOps(r.recipe.ops, r.recipe.options)}`;

/**
 * An item's renders, newest first: show one (as "after"), put its settings back into the recipe,
 * compare it with the one shown (side by side, zoom synced), download, export or delete it.
 */
export function RenderHistory(props: {
  renders: Render[];
  /** The render shown as "after", and the one it is compared with (shown as "before"). */
  shownId: number | null;
  compareId: number | null;
  onShow: (r: Render) => void;
  onReuse: (r: Render) => void;
  onCompare: (r: Render | null) => void;
  onDelete: (r: Render) => void;
  onExport: (r: Render) => void;
  downloadUrl?: (id: number) => string;
}) {
  const { renders, shownId, compareId } = props;
  if (renders.length === 0)
    return (
      <Text size="xs" c="dimmed">
        No renders yet.
      </Text>
    );
  const icon = (
    label: string,
    testId: string,
    onClick: () => void,
    child: React.ReactNode,
    pressed?: boolean,
  ) => (
    <Tooltip label={label}>
      <ActionIcon
        size="sm"
        variant={pressed ? 'light' : 'subtle'}
        onClick={onClick}
        aria-label={`${label} (${testId.replace(/^[a-z]+-render-/, 'render ')})`}
        aria-pressed={pressed}
        data-testid={testId}
      >
        {child}
      </ActionIcon>
    </Tooltip>
  );
  return (
    <Stack gap={6} data-testid="render-history">
      {renders.map((r) => {
        const shown = shownId === r.id;
        const compared = compareId === r.id;
        const done = r.status === 'done';
        return (
          <Stack
            key={r.id}
            gap={2}
            data-testid={`history-${r.id}`}
            data-shown={shown}
            data-compared={compared}
          >
            <UnstyledButton
              disabled={!done}
              onClick={() => props.onShow(r)}
              style={{ minWidth: 0, opacity: shown || compared ? 1 : 0.8 }}
            >
              <Text size="xs" fw={shown ? 700 : 400} truncate>
                {describeRender(r)}
                {compared ? ' · before' : shown ? ' · after' : ''}
              </Text>
              <Text size="xs" c={r.status === 'failed' ? 'red.9' : 'dimmed'} lineClamp={2}>
                {r.status === 'failed'
                  ? r.error
                  : `${r.width}×${r.height} · ${formatMs(r.ms)} · ${r.models.join(', ')}`}
              </Text>
            </UnstyledButton>
            <Group gap={2} wrap="nowrap">
              {icon(
                'Reuse these settings',
                `reuse-render-${r.id}`,
                () => props.onReuse(r),
                <IconReuse size={14} />,
              )}
              {done &&
                shownId !== null &&
                !shown &&
                icon(
                  compared ? 'Stop comparing' : `Compare with render #${shownId}`,
                  `compare-render-${r.id}`,
                  () => props.onCompare(compared ? null : r),
                  <IconCompare size={14} />,
                  compared,
                )}
              {done && props.downloadUrl && (
                <Tooltip label="Download the full render">
                  <ActionIcon
                    size="sm"
                    variant="subtle"
                    component="a"
                    href={props.downloadUrl(r.id)}
                    download
                    aria-label={`Download render ${r.id}`}
                    data-testid={`download-render-${r.id}`}
                  >
                    <IconDownload size={14} />
                  </ActionIcon>
                </Tooltip>
              )}
              {done &&
                icon('Export', `export-render-${r.id}`, () => props.onExport(r), <IconExport size={14} />)}
              {icon(
                'Delete this render',
                `delete-render-${r.id}`,
                () => props.onDelete(r),
                <IconTrash size={14} />,
              )}
            </Group>
          </Stack>
        );
      })}
    </Stack>
  );
}
