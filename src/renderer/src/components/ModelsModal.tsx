import { Alert, Badge, Button, Group, Modal, Progress, ScrollArea, Stack, Table, Text } from '@mantine/core';
import { useState } from 'react';
import type { ModelRow } from '../../../shared/api';
import { TASK_INFO } from '../../../shared/ops';
import { useApi, useApiEvent } from '../api/context';
import { formatBytes, formatDuration } from '../format';
import { useRemote } from '../state/remote';
import { downloadSize } from './ColorizerOffer';
import { ImportModelModal } from './ImportModelModal';

/** The model manager: what is installed, what the catalog offers, downloads with progress. */
export function ModelsModal(props: { opened: boolean; onClose: () => void }) {
  const api = useApi();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [importing, setImporting] = useState(false);
  const [imported, setImported] = useState<string | null>(null);
  // Downloads in progress, from events; the catalog snapshot reloads (coalesced) when one ends, so an
  // older snapshot can never answer last and show a finished download as still running.
  const [progress, setProgress] = useState<Map<string, ModelRow['progress']>>(new Map());
  const catalog = useRemote(
    () => (props.opened ? api.call('models.catalog', {}) : Promise.resolve(null)),
    [props.opened],
    (e) => props.opened && e.type === 'model' && e.state !== 'installing',
  );
  useApiEvent((e) => {
    if (e.type !== 'model' || e.state === 'sized') return;
    if (e.state === 'installing') setProgress((m) => new Map(m).set(e.id, e.progress));
    else {
      setProgress((m) => {
        const next = new Map(m);
        next.delete(e.id);
        return next;
      });
      if (e.error) setErrors((m) => ({ ...m, [e.id]: e.error! }));
    }
  });
  const rows =
    catalog.data?.models.map((r) =>
      progress.has(r.id) ? { ...r, installing: true, progress: progress.get(r.id) ?? null } : r,
    ) ?? null;
  const dir = catalog.data?.modelsDir ?? '';
  const load = catalog.reload;
  const act = async (fn: () => Promise<unknown>, id: string) => {
    setErrors((m) => ({ ...m, [id]: '' }));
    try {
      await fn();
    } catch (err) {
      setErrors((m) => ({ ...m, [id]: (err as Error).message }));
    }
  };

  // The wizard replaces the list while open (two stacked modals fight over focus and Escape).
  return (
    <>
      <Modal opened={props.opened && !importing} onClose={props.onClose} title="Models" size="xl" centered>
        <Stack gap="sm">
          <Group justify="space-between" align="start" wrap="nowrap">
            <Text size="xs" c="dimmed">
              Models run on this computer; nothing is uploaded. Downloads are checked against the publisher’s
              hash and resume where they stopped. Folder: {dir}
            </Text>
            <Button
              size="xs"
              variant="default"
              style={{ flexShrink: 0 }}
              onClick={() => {
                setImported(null);
                setImporting(true);
              }}
              data-testid="models-import-onnx"
            >
              Import ONNX…
            </Button>
          </Group>
          {imported && (
            <Alert
              color="green"
              withCloseButton
              onClose={() => setImported(null)}
              data-testid="models-imported"
            >
              Imported {imported}.
            </Alert>
          )}
          <ScrollArea.Autosize mah="60vh">
            <Table verticalSpacing={6} data-testid="models-table">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Model</Table.Th>
                  <Table.Th w={100}>Task</Table.Th>
                  <Table.Th w={110}>Size</Table.Th>
                  <Table.Th w={110}>Licence</Table.Th>
                  <Table.Th w={220} />
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows?.map((m) => (
                  <Table.Tr key={m.id} data-testid="model-row" data-id={m.id}>
                    <Table.Td>
                      <Text size="sm" fw={500} title={m.details ?? undefined}>
                        {m.name}{' '}
                        <Text span size="xs" c="dimmed">
                          {m.version}
                        </Text>
                      </Text>
                      {m.description && (
                        <Text size="xs" c="dimmed">
                          {m.description}
                        </Text>
                      )}
                      {m.installing && m.progress && (
                        <Stack gap={2} mt={4}>
                          <Progress
                            aria-label={`Installing ${m.name}`}
                            size="sm"
                            value={
                              m.progress.totalBytes
                                ? (100 * m.progress.receivedBytes) / m.progress.totalBytes
                                : 100
                            }
                            animated={!m.progress.totalBytes}
                          />
                          <Text size="xs" c="dimmed">
                            {m.progress.phase} · {formatBytes(m.progress.receivedBytes)}
                            {m.progress.totalBytes ? ` of ${formatBytes(m.progress.totalBytes)}` : ''}
                            {m.progress.etaSeconds !== null
                              ? ` · ${formatDuration(m.progress.etaSeconds)} left`
                              : ''}
                          </Text>
                        </Stack>
                      )}
                      {errors[m.id] && (
                        <Text size="xs" c="red">
                          {errors[m.id]}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Badge
                        size="xs"
                        variant="light"
                        color={TASK_INFO[m.task].color}
                        style={{ overflow: 'visible' }}
                      >
                        {m.task}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Text
                        size="xs"
                        data-testid="model-size"
                        title={
                          m.sizeFrom === 'server' ? 'size as the download server announces it' : undefined
                        }
                      >
                        {m.installed ? formatBytes(m.sizeOnDisk ?? 0) : downloadSize(m)}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs">{m.license}</Text>
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4} justify="flex-end" wrap="wrap">
                        {m.installed && !m.isDefault && (
                          <Badge variant="outline">{m.origin === 'bundled' ? 'built in' : 'installed'}</Badge>
                        )}
                        {m.isDefault && (
                          <Badge variant="default" data-testid="model-default">
                            default{m.defaultScales.length ? ` ×${m.defaultScales.join(', ×')}` : ''}
                          </Badge>
                        )}
                        {m.isFilmDefault && (
                          <Badge variant="default" data-testid="model-film-default">
                            default for films
                          </Badge>
                        )}
                        {m.installed && !m.isDefault && (
                          <Button
                            size="compact-xs"
                            variant="default"
                            onClick={() =>
                              void act(async () => {
                                await api.call('models.setDefault', { task: m.task, id: m.id });
                                load();
                              }, m.id)
                            }
                            aria-label={`Make default: ${m.name} for ${m.task}`}
                            data-testid="model-make-default"
                          >
                            Make default
                          </Button>
                        )}
                        {!m.installed && !m.installing && (
                          <Button
                            size="compact-xs"
                            onClick={() => void act(() => api.call('models.install', { id: m.id }), m.id)}
                            data-testid="model-install"
                          >
                            {m.partialBytes > 0 ? 'Resume' : 'Install'}
                          </Button>
                        )}
                        {m.installing && (
                          <Button
                            size="compact-xs"
                            variant="default"
                            onClick={() =>
                              void act(() => api.call('models.cancelInstall', { id: m.id }), m.id)
                            }
                          >
                            Cancel
                          </Button>
                        )}
                        {m.installed && m.removable && (
                          <Button
                            size="compact-xs"
                            variant="subtle"
                            color="red"
                            onClick={() => void act(() => api.call('models.remove', { id: m.id }), m.id)}
                          >
                            Remove
                          </Button>
                        )}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea.Autosize>
          {rows?.length === 0 && (
            <Alert color="yellow">The catalog is empty and no models are installed.</Alert>
          )}
        </Stack>
      </Modal>
      <ImportModelModal
        opened={props.opened && importing}
        onClose={() => setImporting(false)}
        onImported={(row) => {
          setImported(row.name);
          load();
        }}
      />
    </>
  );
}
