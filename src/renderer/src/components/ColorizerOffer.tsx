import { Alert, Badge, Button, Group, Progress, Stack, Text } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { ModelRow } from '../../../shared/api';
import { useApi, useApiEvent } from '../api/context';
import { formatBytes } from '../format';
import { useRemote } from '../state/remote';

const DISMISSED = 'tintype.colorizerOffer';
const OFFLINE = /^No internet connection/;

/**
 * "123 MB download" (the catalog's size, or the server's when the catalog lists none), or why the
 * size is not known yet: being asked, offline, or not said by anyone (the download then shows it).
 */
export const downloadSize = (m: Pick<ModelRow, 'downloadBytes' | 'sizeFrom'>): string => {
  if (m.downloadBytes) return `${formatBytes(m.downloadBytes)} download`;
  if (m.sizeFrom === 'checking') return 'checking size…';
  if (m.sizeFrom === 'offline') return 'size unknown while offline';
  return 'size not listed';
};

/**
 * While only the bundled colorizer is installed: says plainly that it is a light offline model and
 * offers the catalog's strongest colorizers (marked `recommended`), each with its size and licence
 * and one click to install. Offline, it says so and the bundled colorizer carries on. "Not now"
 * hides it until a colorizer is installed or the setting is cleared.
 */
export function ColorizerOffer(props: { where: 'welcome' | 'recipe' }) {
  const api = useApi();
  const [dismissed, setDismissed] = useState(() => localStorage.getItem(DISMISSED) === 'dismissed');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [progress, setProgress] = useState<Record<string, number | null>>({});
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const on = () => {
      setOnline(navigator.onLine);
      if (navigator.onLine) setErrors({}); // back online: offer the downloads again
    };
    window.addEventListener('online', on);
    window.addEventListener('offline', on);
    return () => {
      window.removeEventListener('online', on);
      window.removeEventListener('offline', on);
    };
  }, []);
  const catalog = useRemote(
    () => api.call('models.catalog', {}),
    [],
    (e) => e.type === 'model' && e.state !== 'installing',
  );
  useApiEvent((e) => {
    if (e.type !== 'model' || e.state === 'sized') return;
    if (e.state === 'installing') {
      const p = e.progress;
      setProgress((m) => ({ ...m, [e.id]: p?.totalBytes ? p.receivedBytes / p.totalBytes : null }));
    } else {
      setProgress((m) => {
        const { [e.id]: _gone, ...rest } = m;
        return rest;
      });
      if (e.error) setErrors((m) => ({ ...m, [e.id]: e.error! }));
    }
  });
  const rows = catalog.data?.models ?? [];
  const colorizers = rows.filter((m) => m.task === 'colorize');
  // "Only the bundled one": no colorizer from the catalog is installed yet (imported ones are the user's own).
  const onlyBundled = !colorizers.some((m) => m.installed && m.origin === 'catalog');
  const offers = colorizers.filter((m) => m.recommended && !m.installed);
  if (!catalog.data || !onlyBundled || offers.length === 0 || dismissed) return null;
  const offline = !online || Object.values(errors).some((e) => OFFLINE.test(e));
  const install = async (id: string) => {
    setErrors((m) => ({ ...m, [id]: '' }));
    setProgress((m) => ({ ...m, [id]: null }));
    try {
      await api.call('models.install', { id });
    } catch (err) {
      setErrors((m) => ({ ...m, [id]: (err as Error).message }));
    }
  };
  return (
    <Alert
      color="blue"
      variant="light"
      p="sm"
      title="Stronger colorizers are available"
      data-testid="colorizer-offer"
      data-where={props.where}
      withCloseButton
      closeButtonLabel="Not now: hide the colorizer offer"
      onClose={() => {
        localStorage.setItem(DISMISSED, 'dismissed');
        setDismissed(true);
      }}
    >
      <Stack gap={6}>
        <Text size="xs">
          The built-in colorizer is a light model that works offline: quick, with muted colours. These
          colorizers from the catalog give richer colour; each is one download, then works offline too.
        </Text>
        {offline && (
          <Text size="xs" fw={600} data-testid="colorizer-offline">
            You are offline, so nothing can be downloaded now. The built-in colorizer is used meanwhile.
          </Text>
        )}
        {offers.map((m) => {
          const installing = m.id in progress || m.installing;
          const p = progress[m.id] ?? null;
          return (
            <Stack key={m.id} gap={2} data-testid="colorizer-offer-row" data-id={m.id}>
              <Group justify="space-between" wrap="nowrap" gap="xs">
                <Stack gap={0} style={{ minWidth: 0 }}>
                  <Text size="sm" fw={600}>
                    {m.name}
                  </Text>
                  <Text size="xs">{m.description}</Text>
                  <Group gap={4}>
                    <Badge size="xs" variant="default">
                      {downloadSize(m)}
                    </Badge>
                    <Badge size="xs" variant="default">
                      {m.license}
                    </Badge>
                  </Group>
                </Stack>
                <Button
                  size="compact-xs"
                  onClick={() => void install(m.id)}
                  loading={installing}
                  disabled={offline && !installing}
                  aria-label={`Install ${m.name}`}
                  data-testid="colorizer-install"
                  style={{ flexShrink: 0 }}
                >
                  Install
                </Button>
              </Group>
              {installing && (
                <Progress
                  size="xs"
                  value={p === null ? 100 : 100 * p}
                  animated={p === null}
                  aria-label={`Downloading ${m.name}`}
                />
              )}
              {errors[m.id] && !OFFLINE.test(errors[m.id]) && (
                <Text size="xs" c="red.9">
                  {errors[m.id]}
                </Text>
              )}
            </Stack>
          );
        })}
      </Stack>
    </Alert>
  );
}
