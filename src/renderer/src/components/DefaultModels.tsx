import { Select, SimpleGrid, Text } from '@mantine/core';
import { useState } from 'react';
import type { ModelRow } from '../../../shared/api';
import { TASK_INFO, TASKS, type Task } from '../../../shared/ops';
import { useApi } from '../api/context';
import { modelNameParts } from '../format';
import { renderModelOption, type ModelItem } from './ModelOption';
import { useRemote } from '../state/remote';

/**
 * The model each task uses when a recipe names none, one select per task (upscale: per scale), in
 * two aligned columns: six side by side squeezed the names to "Tinty…". A task whose films have a
 * default of their own (colorize: the steadier video colorizer) gets a second select for films
 * beside the photos' one. A choice applies at once (the next render uses it); every select, the films'
 * one too, clears the user's choice back to the bundled default (models.setDefault with a null id).
 */
export function DefaultModels() {
  const api = useApi();
  const [error, setError] = useState<string | null>(null);
  const catalog = useRemote(
    () => api.call('models.catalog', {}),
    [],
    (e) => e.type === 'model' && e.state !== 'installing',
  );
  const installed = (catalog.data?.models ?? []).filter((m) => m.installed);
  const fields: { task: Task; scale?: number; film?: boolean; label: string; options: ModelRow[] }[] = [];
  for (const task of TASKS) {
    const mine = installed.filter((m) => m.task === task);
    if (mine.length === 0) continue;
    if (TASK_INFO[task].enlarges) {
      for (const scale of [...new Set(mine.flatMap((m) => m.scales))].sort((a, b) => a - b))
        fields.push({
          task,
          scale,
          label: `${TASK_INFO[task].label} ×${scale}`,
          options: mine.filter((m) => m.scales.includes(scale)),
        });
    } else if (mine.some((m) => m.isFilmDefault)) {
      fields.push(
        { task, label: `${TASK_INFO[task].label} (photos)`, options: mine },
        { task, film: true, label: `${TASK_INFO[task].label} (films)`, options: mine },
      );
    } else fields.push({ task, label: TASK_INFO[task].label, options: mine });
  }
  if (!catalog.data) return null;
  const choose = async (task: Task, id: string | null, scale?: number, film?: boolean) => {
    setError(null);
    try {
      await api.call('models.setDefault', { task, id, scale, film });
      catalog.reload();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <>
      <SimpleGrid cols={2} spacing="sm" verticalSpacing="xs" data-testid="default-models">
        {fields.map((f) => {
          const current = f.options.find((m) =>
            f.film ? m.isFilmDefault : f.scale ? m.defaultScales.includes(f.scale) : m.isDefault,
          );
          const key = `${f.task}${f.scale ? `-${f.scale}` : ''}${f.film ? '-film' : ''}`;
          return (
            <Select
              key={key}
              label={f.label}
              placeholder="First installed"
              data={f.options.map((m): ModelItem => {
                const name = modelNameParts(m.name);
                return { value: m.id, label: name.short, detail: name.detail };
              })}
              renderOption={renderModelOption}
              value={current?.id ?? null}
              onChange={(v) => void choose(f.task, v, f.scale, f.film)}
              // Clearing is the clear button only: a click on the chosen option must not undo it.
              allowDeselect={false}
              clearable
              clearButtonProps={{ 'aria-label': `${f.label}: back to the bundled default` }}
              comboboxProps={{ withinPortal: true }}
              data-testid={`default-model-${key}`}
            />
          );
        })}
      </SimpleGrid>
      {error && (
        <Text size="xs" c="red.9">
          {error}
        </Text>
      )}
    </>
  );
}
