import {
  Alert,
  Button,
  Code,
  Fieldset,
  Group,
  List,
  Modal,
  NumberInput,
  ScrollArea,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Stepper,
  Text,
  TextInput,
} from '@mantine/core';
import { useState, type ReactNode } from 'react';
import type { ImportProbeResult, ManifestDraft, ModelRow } from '../../../shared/api';
import { TASK_INFO, TASKS } from '../../../shared/ops';
import { useApi } from '../api/context';

type Range = [number, number];

const TASK_CHOICES = TASKS.map((t) => ({ value: t, label: TASK_INFO[t].label }));
const OUTPUT_KINDS = [
  { value: 'rgb', label: 'RGB image' },
  { value: 'grey', label: 'Grey image' },
  { value: 'ab', label: 'Lab a,b chroma' },
  { value: 'uv', label: 'YUV U,V chroma' },
];

/** Which parts of the form the probe's doubts are about, so those fields stand out. */
function doubtsAbout(uncertain: string[]): { input: boolean; output: boolean } {
  const text = uncertain.join('\n');
  return { input: /input|ranges/i.test(text), output: /output|chroma|kind/i.test(text) };
}

const shapeText = (t: ImportProbeResult['info']['inputs'][number]) =>
  `${t.name}: ${t.type} [${t.shape.join(', ')}]`;

const parseList = (s: string): number[] =>
  s
    .split(/[,\s]+/)
    .filter(Boolean)
    .map(Number);

function RangeFields(props: { label: string; value: Range; onChange: (r: Range) => void; testid: string }) {
  return (
    <Group gap="xs" grow>
      <NumberInput
        size="xs"
        label={`${props.label} from`}
        value={props.value[0]}
        onChange={(v) => props.onChange([Number(v) || 0, props.value[1]])}
        data-testid={`${props.testid}-lo`}
      />
      <NumberInput
        size="xs"
        label="to"
        value={props.value[1]}
        onChange={(v) => props.onChange([props.value[0], Number(v) || 0])}
        data-testid={`${props.testid}-hi`}
      />
    </Group>
  );
}

/** A form section; a yellow border marks what the probe had to guess. */
function Section(props: { legend: string; doubt?: boolean; children: ReactNode }) {
  return (
    <Fieldset
      legend={props.legend}
      p="xs"
      style={props.doubt ? { borderColor: 'var(--mantine-color-yellow-6)', borderWidth: 2 } : undefined}
      data-doubt={props.doubt ? 'yes' : undefined}
    >
      <Stack gap={6}>{props.children}</Stack>
    </Fieldset>
  );
}

/**
 * The custom model wizard: the backend runs the chosen .onnx to propose a manifest, the user checks
 * and edits it, and the import tests the file against the edited manifest before copying it in.
 */
export function ImportModelModal(props: {
  opened: boolean;
  onClose: () => void;
  onImported: (row: ModelRow) => void;
}) {
  const api = useApi();
  const [step, setStep] = useState(0);
  const [path, setPath] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [probe, setProbe] = useState<ImportProbeResult | null>(null);
  const [draft, setDraft] = useState<ManifestDraft | null>(null);
  const [normText, setNormText] = useState({ mean: '', std: '' });

  const reset = () => {
    setStep(0);
    setError(null);
    setProbe(null);
    setDraft(null);
    setBusy(false);
  };
  const close = () => {
    reset();
    setPath('');
    props.onClose();
  };
  const browse = async () => {
    try {
      const r = await api.call('dialog.openFiles', { kind: 'onnx' });
      if (r.paths[0]) setPath(r.paths[0]);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const runProbe = async () => {
    setBusy(true);
    setError(null);
    setProbe(null);
    try {
      const p = await api.call('models.probe', { path: path.trim() });
      setProbe(p);
      if (p.proposal) {
        setDraft(p.proposal);
        setNormText({
          mean: p.proposal.input.normalization?.mean.join(', ') ?? '',
          std: p.proposal.input.normalization?.std.join(', ') ?? '',
        });
        setStep(1);
      }
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const runImport = async () => {
    if (!draft) return;
    setBusy(true);
    setError(null);
    try {
      const row = await api.call('models.import', { path: path.trim(), manifest: draft });
      props.onImported(row);
      close();
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  const set = (patch: Partial<ManifestDraft>) => setDraft((d) => (d ? { ...d, ...patch } : d));
  const setInput = (patch: Partial<ManifestDraft['input']>) =>
    setDraft((d) => (d ? { ...d, input: { ...d.input, ...patch } } : d));
  const setOutput = (patch: Partial<ManifestDraft['output']>) =>
    setDraft((d) => (d ? { ...d, output: { ...d.output, ...patch } } : d));
  const setNorm = (mean: string, std: string) => {
    setNormText({ mean, std });
    setInput({
      normalization: mean.trim() || std.trim() ? { mean: parseList(mean), std: parseList(std) } : null,
    });
  };
  const setTask = (task: ManifestDraft['task']) =>
    setDraft((d) => {
      if (!d) return d;
      const renderSize = d.renderSize ?? { default: 256, min: 192, max: 512 };
      const tile = d.tile ?? { size: 256, overlap: 16 };
      // The task's conventions (src/shared/ops.ts): colorizers render at one size and keep it;
      // the others are tiled, and an enlarging one has a scale of 2 or more.
      const info = TASK_INFO[task];
      return info.runs === 'render-size'
        ? { ...d, task, scale: 1, renderSize, tile: undefined }
        : {
            ...d,
            task,
            tile,
            renderSize: undefined,
            scale: info.enlarges ? Math.max(2, d.scale ?? 2) : 1,
          };
    });

  const doubt = doubtsAbout(probe?.uncertain ?? []);

  return (
    <Modal opened={props.opened} onClose={close} title="Import a custom ONNX model" size="xl" centered>
      <Stepper active={step} size="sm" mb="md">
        <Stepper.Step label="Choose the file" description="Tintype runs it to learn its conventions" />
        <Stepper.Step label="Check the manifest" description="Edit what the probe guessed" />
      </Stepper>
      {step === 0 && (
        <Stack gap="sm">
          <Group align="end" gap="xs">
            <TextInput
              style={{ flex: 1 }}
              label="Model file (.onnx)"
              description="The file is only read; a copy goes into your models folder."
              placeholder="/home/me/models/my-colorizer.onnx"
              value={path}
              onChange={(e) => setPath(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && path.trim()) void runProbe();
              }}
              data-testid="onnx-path"
            />
            {api.mode === 'electron' && (
              <Button variant="default" onClick={() => void browse()}>
                Browse…
              </Button>
            )}
          </Group>
          {probe && probe.problems.length > 0 && (
            <Alert color="red" title="This model cannot work in Tintype" data-testid="onnx-problems">
              <List size="sm">
                {probe.problems.map((p) => (
                  <List.Item key={p}>{p}</List.Item>
                ))}
              </List>
            </Alert>
          )}
          {error && (
            <Alert color="red" data-testid="onnx-error">
              {error}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button
              onClick={() => void runProbe()}
              loading={busy}
              disabled={!path.trim()}
              data-testid="onnx-probe"
            >
              Probe
            </Button>
          </Group>
        </Stack>
      )}
      {step === 1 && draft && probe && (
        <Stack gap="sm">
          <ScrollArea.Autosize mah="60vh" offsetScrollbars>
            <Stack gap="sm">
              {probe.uncertain.length > 0 && (
                <Alert
                  color="yellow"
                  title="Please check: the probe had to guess"
                  data-testid="onnx-uncertain"
                >
                  <List size="sm">
                    {probe.uncertain.map((u) => (
                      <List.Item key={u}>{u}</List.Item>
                    ))}
                  </List>
                </Alert>
              )}
              <Stack gap={2}>
                <Text size="xs" c="dimmed">
                  Declared: <Code>{probe.info.inputs.map(shapeText).join('; ')}</Code> →{' '}
                  <Code>{probe.info.outputs.map(shapeText).join('; ')}</Code>
                </Text>
                <List size="xs" c="dimmed" data-testid="onnx-findings">
                  {probe.findings.map((f) => (
                    <List.Item key={f}>{f}</List.Item>
                  ))}
                </List>
              </Stack>
              <Section legend="Model">
                <SimpleGrid cols={3} spacing="xs">
                  <TextInput
                    size="xs"
                    label="Id"
                    error={
                      /^[a-z0-9][a-z0-9._-]*$/.test(draft.id)
                        ? undefined
                        : 'lower-case letters, digits, . _ -'
                    }
                    value={draft.id}
                    onChange={(e) => set({ id: e.currentTarget.value })}
                    data-testid="onnx-id"
                  />
                  <TextInput
                    size="xs"
                    label="Name"
                    value={draft.name}
                    onChange={(e) => set({ name: e.currentTarget.value })}
                    data-testid="onnx-name"
                  />
                  <Select
                    size="xs"
                    label="Task"
                    data={TASK_CHOICES}
                    value={draft.task}
                    allowDeselect={false}
                    onChange={(v) => v && setTask(v as ManifestDraft['task'])}
                    data-testid="onnx-task"
                  />
                  <TextInput
                    size="xs"
                    label="Licence"
                    value={draft.license}
                    error={
                      draft.license.trim() === 'unknown'
                        ? 'Enter the weights’ licence if you know it'
                        : undefined
                    }
                    onChange={(e) => set({ license: e.currentTarget.value })}
                    data-testid="onnx-license"
                  />
                  <TextInput
                    size="xs"
                    label="Source"
                    style={{ gridColumn: 'span 2' }}
                    value={draft.source}
                    onChange={(e) => set({ source: e.currentTarget.value })}
                    data-testid="onnx-source"
                  />
                </SimpleGrid>
              </Section>
              <Section legend="Input" doubt={doubt.input}>
                <SimpleGrid cols={3} spacing="xs">
                  <Stack gap={2}>
                    <Text size="xs" fw={500}>
                      Layout
                    </Text>
                    <SegmentedControl
                      size="xs"
                      data={['NCHW', 'NHWC']}
                      value={draft.input.layout}
                      onChange={(v) => setInput({ layout: v as 'NCHW' | 'NHWC' })}
                    />
                  </Stack>
                  <Select
                    size="xs"
                    label="Channels"
                    data={[
                      { value: '1', label: '1 (grey)' },
                      { value: '3', label: '3 (RGB)' },
                    ]}
                    value={String(draft.input.channels)}
                    allowDeselect={false}
                    onChange={(v) => v && setInput({ channels: Number(v) as 1 | 3 })}
                  />
                  <RangeFields
                    label="Values"
                    value={draft.input.range}
                    onChange={(range) => setInput({ range })}
                    testid="onnx-in-range"
                  />
                  <TextInput
                    size="xs"
                    label="Normalization mean"
                    description="empty when the graph normalizes itself"
                    placeholder="0.485, 0.456, 0.406"
                    value={normText.mean}
                    onChange={(e) => setNorm(e.currentTarget.value, normText.std)}
                  />
                  <TextInput
                    size="xs"
                    label="Normalization std"
                    description="one value, or one per channel"
                    placeholder="0.229, 0.224, 0.225"
                    value={normText.std}
                    onChange={(e) => setNorm(normText.mean, e.currentTarget.value)}
                  />
                </SimpleGrid>
              </Section>
              <Section legend="Size">
                <SimpleGrid cols={3} spacing="xs">
                  <Stack gap={2}>
                    <Text size="xs" fw={500}>
                      Input size
                    </Text>
                    <SegmentedControl
                      size="xs"
                      data={[
                        { value: 'dynamic', label: 'any' },
                        { value: 'fixed', label: 'fixed' },
                      ]}
                      value={draft.size.kind}
                      onChange={(v) =>
                        set({
                          size:
                            v === 'fixed' ? { kind: 'fixed', value: 256 } : { kind: 'dynamic', multiple: 1 },
                        })
                      }
                    />
                  </Stack>
                  {draft.size.kind === 'dynamic' ? (
                    <NumberInput
                      size="xs"
                      label="Multiple of"
                      min={1}
                      value={draft.size.multiple}
                      onChange={(v) =>
                        set({ size: { kind: 'dynamic', multiple: Math.max(1, Number(v) || 1) } })
                      }
                      data-testid="onnx-multiple"
                    />
                  ) : (
                    <NumberInput
                      size="xs"
                      label="Pixels (square)"
                      min={1}
                      value={draft.size.value}
                      onChange={(v) => set({ size: { kind: 'fixed', value: Math.max(1, Number(v) || 1) } })}
                    />
                  )}
                  <NumberInput
                    size="xs"
                    label="Scale (output ÷ input)"
                    min={1}
                    max={16}
                    value={draft.scale ?? 1}
                    onChange={(v) => set({ scale: Math.max(1, Number(v) || 1) })}
                  />
                  {draft.task === 'colorize' && draft.renderSize && (
                    <>
                      <NumberInput
                        size="xs"
                        label="Render size"
                        value={draft.renderSize.default}
                        onChange={(v) =>
                          set({ renderSize: { ...draft.renderSize!, default: Number(v) || 0 } })
                        }
                        data-testid="onnx-render-size"
                      />
                      <NumberInput
                        size="xs"
                        label="smallest"
                        value={draft.renderSize.min}
                        onChange={(v) => set({ renderSize: { ...draft.renderSize!, min: Number(v) || 0 } })}
                      />
                      <NumberInput
                        size="xs"
                        label="largest"
                        value={draft.renderSize.max}
                        onChange={(v) => set({ renderSize: { ...draft.renderSize!, max: Number(v) || 0 } })}
                      />
                    </>
                  )}
                  {draft.task !== 'colorize' && draft.tile && (
                    <>
                      <NumberInput
                        size="xs"
                        label="Tile size"
                        min={1}
                        value={draft.tile.size}
                        onChange={(v) => set({ tile: { ...draft.tile!, size: Math.max(1, Number(v) || 1) } })}
                      />
                      <NumberInput
                        size="xs"
                        label="Tile overlap"
                        min={0}
                        value={draft.tile.overlap}
                        onChange={(v) =>
                          set({ tile: { ...draft.tile!, overlap: Math.max(0, Number(v) || 0) } })
                        }
                      />
                    </>
                  )}
                </SimpleGrid>
              </Section>
              <Section legend="Output" doubt={doubt.output}>
                <SimpleGrid cols={3} spacing="xs">
                  <Select
                    size="xs"
                    label="Kind"
                    data={OUTPUT_KINDS}
                    value={draft.output.kind}
                    allowDeselect={false}
                    onChange={(v) => v && setOutput({ kind: v as ManifestDraft['output']['kind'] })}
                    data-testid="onnx-out-kind"
                  />
                  <RangeFields
                    label="Values"
                    value={draft.output.range}
                    onChange={(range) => setOutput({ range })}
                    testid="onnx-out-range"
                  />
                </SimpleGrid>
              </Section>
            </Stack>
          </ScrollArea.Autosize>
          {error && (
            <Alert color="red" title="Not imported" data-testid="onnx-error">
              {error}
            </Alert>
          )}
          <Group justify="space-between">
            <Button variant="default" onClick={reset} disabled={busy}>
              Back
            </Button>
            <Button onClick={() => void runImport()} loading={busy} data-testid="onnx-import">
              Import
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
