import {
  ActionIcon,
  Badge,
  Button,
  Card,
  Group,
  Progress,
  ScrollArea,
  Stack,
  Text,
  Title,
  Tooltip,
} from '@mantine/core';
import { useEffect, useState } from 'react';
import type { Batch, FarmStatus, Job } from '../../../shared/api';
import { useApi, useApiEvent } from '../api/context';
import { formatDuration, formatRate } from '../format';
import { IconRetry, IconX } from './icons';
import { mergeLive, pruneLive, tick, type Stamped } from '../state/live-list';
import { useRemote } from '../state/remote';
import { useToast } from './Toasts';

const STATUS_COLOR: Record<Job['status'], string> = {
  queued: 'gray',
  running: 'blue',
  done: 'green',
  failed: 'red',
  canceled: 'dark',
};

function JobRow({ job }: { job: Job }) {
  const api = useApi();
  return (
    <Stack
      gap={2}
      data-testid="queue-job"
      data-status={job.canceling ? 'canceling' : job.status}
      data-name={job.assetName}
    >
      <Group justify="space-between" gap={4} wrap="nowrap">
        <Text size="xs" truncate style={{ flex: 1, minWidth: 0 }}>
          {job.assetName}
        </Text>
        <Badge
          size="sm"
          variant="light"
          color={job.canceling ? 'orange' : STATUS_COLOR[job.status]}
          style={{ flexShrink: 0 }}
        >
          {job.canceling ? 'canceling…' : job.status}
        </Badge>
        {(job.status === 'queued' || job.status === 'running') && !job.canceling && (
          <Tooltip label="Cancel">
            <ActionIcon
              size="xs"
              variant="subtle"
              onClick={() => void api.call('jobs.cancel', { jobIds: [job.id] })}
              aria-label={`Cancel ${job.assetName}`}
            >
              <IconX size={12} />
            </ActionIcon>
          </Tooltip>
        )}
        {(job.status === 'failed' || job.status === 'canceled') && (
          <Tooltip label="Retry">
            <ActionIcon
              size="xs"
              variant="subtle"
              onClick={() => void api.call('jobs.retry', { jobIds: [job.id] })}
              aria-label={`Retry ${job.assetName}`}
            >
              <IconRetry size={12} />
            </ActionIcon>
          </Tooltip>
        )}
      </Group>
      {job.status === 'running' && (
        <>
          <Progress
            value={job.progress * 100}
            size="sm"
            animated={!job.canceling}
            aria-label={`${job.assetName}: ${Math.round(job.progress * 100)}%`}
          />
          <Text size="xs" c="dimmed" data-testid="job-progress">
            {job.canceling
              ? 'canceling… stopping at the next tile or frame'
              : `${job.stage} · ${Math.round(job.progress * 100)}% · ${
                  job.etaSec === null ? 'estimating time left' : `ETA ${formatDuration(job.etaSec)}`
                }`}
          </Text>
        </>
      )}
      {job.error && (
        <Text size="xs" c="red" style={{ wordBreak: 'break-word' }} data-testid="job-error">
          {job.error}
        </Text>
      )}
    </Stack>
  );
}

function BatchCard({ batch, jobs }: { batch: Batch; jobs: Job[] }) {
  const api = useApi();
  const [open, setOpen] = useState(batch.finishedAt === null || batch.failed > 0);
  const finished = batch.done + batch.failed + batch.canceled;
  const active = batch.queued + batch.running > 0;
  const shown = open ? jobs.filter((j) => j.status !== 'done' || jobs.length <= 12) : [];
  return (
    <Card
      withBorder
      padding="xs"
      radius="md"
      data-testid="queue-batch"
      data-done={batch.done}
      data-failed={batch.failed}
      data-finished={batch.finishedAt !== null}
    >
      <Stack gap={6}>
        <Group justify="space-between" wrap="nowrap" gap={4}>
          <Text
            size="sm"
            fw={600}
            truncate
            style={{ flex: 1, cursor: 'pointer' }}
            onClick={() => setOpen((o) => !o)}
          >
            {batch.name}
          </Text>
          {active ? (
            <Button
              size="compact-xs"
              variant="subtle"
              color="red"
              onClick={() => void api.call('jobs.cancel', { batchId: batch.id })}
            >
              Cancel
            </Button>
          ) : batch.failed + batch.canceled > 0 ? (
            <Button
              size="compact-xs"
              variant="subtle"
              onClick={() => void api.call('jobs.retry', { batchId: batch.id })}
            >
              Retry {batch.failed + batch.canceled}
            </Button>
          ) : null}
        </Group>
        <Progress.Root size="md">
          <Progress.Section
            value={(batch.done / Math.max(1, batch.total)) * 100}
            color="green"
            aria-label={`${batch.done} of ${batch.total} done`}
          />
          <Progress.Section
            value={(batch.failed / Math.max(1, batch.total)) * 100}
            color="red"
            aria-label={`${batch.failed} of ${batch.total} failed`}
          />
          <Progress.Section
            value={(batch.canceled / Math.max(1, batch.total)) * 100}
            color="gray"
            aria-label={`${batch.canceled} of ${batch.total} canceled`}
          />
        </Progress.Root>
        <Text size="xs" c="dimmed" data-testid="batch-summary">
          {finished}/{batch.total} · {batch.done} done{batch.failed ? ` · ${batch.failed} failed` : ''}
          {batch.canceled ? ` · ${batch.canceled} canceled` : ''} · {formatRate(batch.itemsPerSec)}
          {active ? ` · ETA ${formatDuration(batch.etaSec)}` : ''}
        </Text>
        {shown.map((j) => (
          <JobRow key={j.id} job={j} />
        ))}
      </Stack>
    </Card>
  );
}

const FARM_COLOR: Record<string, string> = { active: 'blue', completed: 'green', failed: 'red' };

/** The render farm named in the settings (docs/farm.md): its workers and jobs, who runs what. Polled. */
function FarmSection() {
  const api = useApi();
  const [status, setStatus] = useState<FarmStatus | undefined>();
  useEffect(() => {
    let alive = true;
    const look = (): void =>
      void api.call('farm.jobs', {}).then(
        (s) => alive && setStatus(s),
        () => undefined,
      );
    look();
    const timer = setInterval(look, 3000);
    return () => {
      alive = false;
      clearInterval(timer);
    };
  }, [api]);
  if (!status?.url) return null;
  return (
    <Card withBorder padding="xs" data-testid="farm-section">
      <Stack gap={4}>
        <Text size="sm" fw={600}>
          Render farm · {status.error ? 'not reachable' : `${status.workers.length} workers`}
        </Text>
        {status.error && (
          <Text size="xs" c="red">
            {status.error}
          </Text>
        )}
        {status.jobs.map((j) => (
          <Group key={j.id} gap={4} wrap="nowrap" data-testid="farm-job" data-state={j.state}>
            <Text size="xs" truncate style={{ flex: 1, minWidth: 0 }} title={j.failedReason}>
              {j.label}
            </Text>
            {j.worker && (
              <Text size="xs" c="dimmed" truncate style={{ maxWidth: '40%' }}>
                {j.worker}
              </Text>
            )}
            <Badge size="sm" variant="light" color={FARM_COLOR[j.state] ?? 'gray'} style={{ flexShrink: 0 }}>
              {j.state}
            </Badge>
          </Group>
        ))}
      </Stack>
    </Card>
  );
}

/** Every batch and job with progress, speed and ETA; cancel and retry. Updated live from events. */
export function QueuePanel({ onClose }: { onClose: () => void }) {
  const api = useApi();
  const toast = useToast();
  // One snapshot at a time (useRemote coalesces), overlaid with the objects the events carry: reloading
  // on every event let an older snapshot answer last and freeze a finished batch as running.
  const snapshot = useRemote(
    async () => {
      const at = tick();
      return { ...(await api.call('jobs.list', { limit: 1000 })), at };
    },
    [api],
    (e) => e.type === 'library' && e.projectId === null,
  );
  const [liveJobs, setLiveJobs] = useState<Map<number, Stamped<Job>>>(new Map());
  const [liveBatches, setLiveBatches] = useState<Map<number, Stamped<Batch>>>(new Map());
  const snapAt = snapshot.data?.at ?? 0;
  useEffect(() => {
    setLiveJobs((m) => pruneLive(m, snapAt));
    setLiveBatches((m) => pruneLive(m, snapAt));
  }, [snapAt]);
  useApiEvent((e) => {
    if (e.type === 'job') setLiveJobs((m) => new Map(m).set(e.job.id, { value: e.job, at: tick() }));
    else if (e.type === 'batch' || e.type === 'batch-done') {
      setLiveBatches((m) => new Map(m).set(e.batch.id, { value: e.batch, at: tick() }));
      if (e.type === 'batch-done') {
        const b = e.batch;
        toast({
          title: `Batch finished: ${b.name}`,
          message: `${b.done} done${b.failed ? `, ${b.failed} failed` : ''}${b.canceled ? `, ${b.canceled} canceled` : ''}`,
          color: b.failed ? 'yellow' : 'green',
        });
      }
    }
  });
  const jobs = mergeLive(snapshot.data?.jobs, snapAt, liveJobs);
  const batches = mergeLive(snapshot.data?.batches, snapAt, liveBatches);

  const list = [...batches.values()].sort((a, b) => b.id - a.id);
  const byBatch = new Map<number, Job[]>();
  for (const j of [...jobs.values()].sort((a, b) => a.id - b.id))
    byBatch.set(j.batchId, [...(byBatch.get(j.batchId) ?? []), j]);
  const anyFinished = list.some((b) => b.queued + b.running === 0);

  return (
    <Stack gap="xs" h="100%" data-testid="queue-panel">
      <Group justify="space-between" wrap="nowrap">
        <Title order={2} size="h5">
          Queue
        </Title>
        <Group gap={4} wrap="nowrap">
          {anyFinished && (
            <Button
              size="compact-xs"
              variant="subtle"
              onClick={() => void api.call('jobs.clearFinished', {}).then(snapshot.reload)}
            >
              Clear finished
            </Button>
          )}
          <Tooltip label="Hide the queue (Ctrl+J)">
            <ActionIcon variant="subtle" size="sm" onClick={onClose} aria-label="Hide the queue">
              <IconX size={14} />
            </ActionIcon>
          </Tooltip>
        </Group>
      </Group>
      <ScrollArea style={{ flex: 1 }} scrollbars="y">
        <Stack gap="xs">
          <FarmSection />
          {list.length === 0 && (
            <Text size="sm" c="dimmed">
              Nothing queued.
            </Text>
          )}
          {list.map((b) => (
            <BatchCard key={b.id} batch={b} jobs={byBatch.get(b.id) ?? []} />
          ))}
        </Stack>
      </ScrollArea>
    </Stack>
  );
}
