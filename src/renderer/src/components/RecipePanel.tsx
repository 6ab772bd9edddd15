import { Group, SegmentedControl, Select, Slider, Stack, Switch, Text } from '@mantine/core';
import type { ModelInfo, OpName, Recipe } from '../../../shared/api';
import { DEFAULT_SCALE, OP_INFO, OPS, SATURATION_LIMITS, TASK_INFO } from '../../../shared/ops';
import { modelNameParts, renderFactor } from '../format';
import { renderModelOption, type ModelItem } from './ModelOption';
import { toggleOp } from '../state/recipe';

export const RENDER_DEFAULT = { min: 224, max: 360, default: 288 };

/** The colorize model's render-size range (DeOldify: 224–360 px), or the usual one. */
export function renderRange(
  recipe: Recipe,
  models: ModelInfo[],
): { min: number; max: number; default: number } {
  const id = recipe.options.models?.colorize;
  const m = models.find((x) => x.task === 'colorize' && (id ? x.id === id : true));
  return m?.renderSize ?? RENDER_DEFAULT;
}

export function RecipePanel({
  recipe,
  onChange,
  models,
}: {
  recipe: Recipe;
  onChange: (r: Recipe) => void;
  models: ModelInfo[];
}) {
  const setModel = (op: OpName, id: string | null) => {
    const next = { ...recipe.options.models };
    if (id) next[op] = id;
    else delete next[op];
    onChange({
      ...recipe,
      options: { ...recipe.options, models: Object.keys(next).length ? next : undefined },
    });
  };
  const range = renderRange(recipe, models);
  const size = recipe.options.renderSize ?? range.default;
  const scale = recipe.options.scale ?? DEFAULT_SCALE;

  return (
    <Stack gap="sm" data-testid="recipe">
      {OPS.map((op) => {
        const on = recipe.ops.includes(op);
        const task = OP_INFO[op].task;
        const choices = models.filter(
          (m) => m.task === task && (!TASK_INFO[m.task].enlarges || m.scales.includes(scale)),
        );
        return (
          <Stack key={op} gap={6}>
            <Switch
              checked={on}
              onChange={(e) => onChange(toggleOp(recipe, op, e.currentTarget.checked))}
              label={OP_INFO[op].label}
              description={OP_INFO[op].hint}
              data-testid={`op-${op}`}
            />
            {on && (
              <Stack gap={6} pl={46}>
                <Select
                  size="xs"
                  aria-label={`${OP_INFO[op].label} model`}
                  placeholder={choices.length ? 'Default model' : 'No model installed'}
                  data={choices.map((m): ModelItem => {
                    const name = modelNameParts(m.name);
                    return {
                      value: m.id,
                      label: `${name.short} ${m.version}`,
                      detail: [name.detail, m.summary].filter(Boolean).join(' — ') || null,
                    };
                  })}
                  renderOption={renderModelOption}
                  value={recipe.options.models?.[op] ?? null}
                  onChange={(v) => setModel(op, v)}
                  clearable
                  data-testid={`model-${op}`}
                />
                {op === 'colorize' && (
                  <>
                    <Group justify="space-between" gap={4}>
                      <Text size="xs">Render size</Text>
                      <Text size="xs" c="dimmed" data-testid="render-factor">
                        {size} px · render_factor {renderFactor(size)}
                      </Text>
                    </Group>
                    <Slider
                      min={range.min}
                      max={range.max}
                      step={8}
                      value={size}
                      label={(v) => `${v} px (render_factor ${renderFactor(v)})`}
                      marks={[
                        { value: range.min, label: String(range.min) },
                        { value: range.max, label: String(range.max) },
                      ]}
                      onChange={(v) => onChange({ ...recipe, options: { ...recipe.options, renderSize: v } })}
                      aria-label="Render size"
                      thumbLabel="Render size"
                      data-testid="render-size"
                      mb="md"
                      mx={10}
                    />
                    <Text size="xs" c="dimmed">
                      Smaller renders give bolder, more stable colour; larger ones keep more detail but may
                      wash out.
                    </Text>
                    <Group justify="space-between" gap={4}>
                      <Text size="xs">Saturation</Text>
                      <Text size="xs" c="dimmed" data-testid="saturation-value">
                        ×{(recipe.options.saturation ?? 1).toFixed(2)}
                      </Text>
                    </Group>
                    {/* Live like the render size: the preview follows as it moves. */}
                    <Slider
                      min={SATURATION_LIMITS.min}
                      max={SATURATION_LIMITS.max}
                      step={0.05}
                      value={recipe.options.saturation ?? 1}
                      label={(v) => `×${v.toFixed(2)}`}
                      onChange={(v) =>
                        onChange({
                          ...recipe,
                          options: { ...recipe.options, saturation: v === 1 ? undefined : v },
                        })
                      }
                      aria-label="Saturation"
                      thumbLabel="Saturation"
                      data-testid="saturation"
                      mx={10}
                    />
                  </>
                )}
                {op === 'upscale' && (
                  <SegmentedControl
                    size="xs"
                    data={[
                      { value: '2', label: '×2' },
                      { value: '4', label: '×4' },
                    ]}
                    value={String(scale)}
                    onChange={(v) => {
                      const models = { ...recipe.options.models };
                      delete models.upscale;
                      onChange({
                        ...recipe,
                        options: {
                          ...recipe.options,
                          scale: Number(v) as 2 | 4,
                          models: Object.keys(models).length ? models : undefined,
                        },
                      });
                    }}
                  />
                )}
              </Stack>
            )}
          </Stack>
        );
      })}
      <Switch
        size="xs"
        checked={recipe.watermark}
        onChange={(e) => onChange({ ...recipe, watermark: e.currentTarget.checked })}
        label="Mark output as AI-colorized"
      />
    </Stack>
  );
}
