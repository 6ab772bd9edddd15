import {
  Box,
  ActionIcon,
  Alert,
  AppShell,
  Badge,
  Button,
  Center,
  Group,
  Stack,
  Text,
  Title,
  Tooltip,
  useMantineColorScheme,
} from '@mantine/core';
import { useHotkeys } from '@mantine/hooks';
import { useEffect, useRef, useState } from 'react';
import type { Project, Res } from '../../shared/api';
import type { MenuAction } from '../../shared/bridge';
import { useApi, useApiEvent } from './api/context';
import { AssetView } from './components/AssetView';
import { BatchModal } from './components/BatchModal';
import { ExportModal } from './components/ExportModal';
import { IconMoon, IconQueue, IconSettings, IconSidebar, IconSun } from './components/icons';
import { ImportPhotosModal } from './components/ImportPhotosModal';
import { ModelsModal } from './components/ModelsModal';
import { LibraryView } from './components/LibraryView';
import { ProjectList } from './components/ProjectList';
import { useStrayDropGuard } from './api/drag-out';
import { NotifyToggle } from './components/NotifyToggle';
import { QueuePanel } from './components/QueuePanel';
import { SettingsModal } from './components/SettingsModal';
import { useToast } from './components/Toasts';
import { useStoredRecipe } from './state/recipe';
import { useRemote } from './state/remote';
import { ColorizerOffer } from './components/ColorizerOffer';

type View = { kind: 'library' } | { kind: 'asset'; id: number; neighbours: number[] };
const PROJECT_KEY = 'tintype.project';

/** The narrowest window in which the queue drawer opens by itself beside the picture. */
const QUEUE_ROOM_PX = 1280;

export function App() {
  const api = useApi();
  const toast = useToast();
  const { setColorScheme, colorScheme } = useMantineColorScheme();
  const info = useRemote(() => api.call('app.info', {}), []);
  const projects = useRemote(
    () => api.call('projects.list', {}),
    [],
    (e) => e.type === 'library' || (e.type === 'job' && e.job.status === 'done'),
  );
  const models = useRemote(
    () => api.call('models.list', {}),
    [],
    (e) => e.type === 'model' && (e.state === 'installed' || e.state === 'removed'),
  );
  const [modelsOpen, setModelsOpen] = useState(false);
  const [settings, setSettings] = useState<Res<'settings.get'> | undefined>(undefined);
  const [projectId, setProjectId] = useState<number | null>(
    () => Number(localStorage.getItem(PROJECT_KEY)) || null,
  );
  const [view, setView] = useState<View>({ kind: 'library' });
  const [selection, setSelection] = useState<Set<number>>(new Set());
  const [recipe, setRecipe] = useStoredRecipe();
  // The picture gets the room: the queue is a drawer that opens itself when work starts, and the
  // projects list folds away in the item view (either can be toggled from the header).
  const [queueOpen, setQueueOpen] = useState(false);
  const [navOpen, setNavOpen] = useState(true);
  const [importOpen, setImportOpen] = useState(false);
  const [batchOpen, setBatchOpen] = useState(false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [creating, setCreating] = useState(false);
  const [exportIds, setExportIds] = useState<number[] | null>(null);

  useEffect(() => {
    void api.call('settings.get', {}).then(setSettings);
  }, [api]);
  useEffect(() => {
    if (settings) setColorScheme(settings.theme);
  }, [settings, setColorScheme]);

  // A project just created is current before the reloaded list has it (the fallback below would
  // otherwise pick the previous project, and the next import would land there).
  const [created, setCreated] = useState<Project | null>(null);
  const loaded = projects.data ?? [];
  const list = created && !loaded.some((p) => p.id === created.id) ? [...loaded, created] : loaded;
  const project = list.find((p) => p.id === projectId) ?? null;
  useEffect(() => {
    // The remembered project was deleted (or this is a new library): fall back to the first one.
    if (projects.data && !project) setProjectId(list[0]?.id ?? null);
  }, [projects.data, project, list]);
  useEffect(() => {
    if (projectId) localStorage.setItem(PROJECT_KEY, String(projectId));
    setSelection(new Set());
    setView({ kind: 'library' });
  }, [projectId]);
  useEffect(() => setNavOpen(view.kind === 'library'), [view.kind]);

  // Coalesced like every other reload: one answering out of order would leave a stale count.
  const active = useRemote(
    () => api.call('jobs.list', { limit: 1 }),
    [api],
    (e) => e.type === 'batch' || e.type === 'batch-done',
  );
  const activeJobs = active.data?.batches.reduce((n, b) => n + b.queued + b.running, 0) ?? 0;
  const toggleTheme = () => {
    const next = colorScheme === 'dark' ? 'light' : 'dark';
    setColorScheme(next);
    void api.call('settings.update', { theme: next }).then(setSettings);
  };
  const onMenu = (action: MenuAction) => {
    if (action === 'new-project') setCreating(true);
    else if (action === 'import-files' || action === 'import-folder') setImportOpen(true);
    else if (action === 'settings') setSettingsOpen(true);
    else if (action === 'toggle-queue') setQueueOpen((o) => !o);
    else if (action === 'toggle-theme') toggleTheme();
    else if (action === 'export' && view.kind === 'library' && selection.size)
      toast({ title: 'Export', message: 'Use the export button of the selection or of a render.' });
  };
  // Batches seen running already: the drawer opens once per batch, and stays shut if closed. In a
  // narrow window (under 1280 px) it would leave the picture a third of the width: there the
  // Queue button's count says that work started, and the drawer opens when asked.
  const announced = useRef(new Set<number>());
  const openQueueIfRoom = () => {
    if (window.innerWidth >= QUEUE_ROOM_PX) setQueueOpen(true);
  };
  useApiEvent((e) => {
    if (e.type === 'batch' && e.batch.queued + e.batch.running > 0 && !announced.current.has(e.batch.id)) {
      announced.current.add(e.batch.id);
      openQueueIfRoom();
    }
    if (e.type === 'menu') onMenu(e.action);
    if (e.type === 'settings') void api.call('settings.get', {}).then(setSettings);
  });
  useStrayDropGuard();
  useHotkeys([
    ['mod+J', () => setQueueOpen((o) => !o)],
    ['mod+shift+L', toggleTheme],
  ]);

  const modelList = models.data ?? [];
  const dialogs = info.data?.dialogs ?? false;

  return (
    <AppShell
      header={{ height: 48 }}
      navbar={{ width: 240, breakpoint: 0, collapsed: { desktop: !navOpen, mobile: !navOpen } }}
      aside={{ width: 300, breakpoint: 0, collapsed: { desktop: !queueOpen, mobile: !queueOpen } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="xs" wrap="nowrap">
            <Tooltip label={navOpen ? 'Hide projects' : 'Show projects'}>
              <ActionIcon
                variant={navOpen ? 'light' : 'subtle'}
                onClick={() => setNavOpen((o) => !o)}
                aria-label={navOpen ? 'Hide projects' : 'Show projects'}
                aria-expanded={navOpen}
                data-testid="projects-toggle"
              >
                <IconSidebar />
              </ActionIcon>
            </Tooltip>
            <img src="./tintype.svg" alt="" width={22} height={22} />
            <Title order={4}>Tintype</Title>
            {info.data?.mode === 'server' && <Badge variant="light">browser</Badge>}
          </Group>
          <Group gap={4} wrap="nowrap">
            <NotifyToggle />
            <Tooltip label="Light / dark (Ctrl+Shift+L)">
              <ActionIcon
                variant="subtle"
                onClick={toggleTheme}
                aria-label="Toggle theme"
                data-testid="theme-toggle"
              >
                {colorScheme === 'dark' ? <IconSun /> : <IconMoon />}
              </ActionIcon>
            </Tooltip>
            <Tooltip label="Queue (Ctrl+J)">
              <Button
                variant={queueOpen ? 'light' : 'subtle'}
                size="xs"
                leftSection={<IconQueue size={14} />}
                onClick={() => setQueueOpen((o) => !o)}
                aria-expanded={queueOpen}
                data-testid="queue-toggle"
                rightSection={
                  activeJobs ? (
                    <Badge size="sm" circle={activeJobs < 10} data-testid="queue-count">
                      {activeJobs}
                    </Badge>
                  ) : undefined
                }
              >
                Queue
              </Button>
            </Tooltip>
            <Button
              variant="subtle"
              size="xs"
              onClick={() => setModelsOpen(true)}
              data-testid="models-button"
            >
              Models
            </Button>
            <Tooltip label="Settings">
              <ActionIcon
                variant="subtle"
                onClick={() => setSettingsOpen(true)}
                aria-label="Settings"
                data-testid="settings-button"
              >
                <IconSettings />
              </ActionIcon>
            </Tooltip>
          </Group>
        </Group>
      </AppShell.Header>

      <AppShell.Navbar p="sm">
        <ProjectList
          projects={list}
          current={projectId}
          onSelect={setProjectId}
          onCreated={(p) => {
            setCreated(p);
            setProjectId(p.id);
          }}
          creating={creating}
          setCreating={setCreating}
        />
      </AppShell.Navbar>

      <AppShell.Aside p="sm">
        {queueOpen && <QueuePanel onClose={() => setQueueOpen(false)} />}
      </AppShell.Aside>

      <AppShell.Main style={{ height: '100dvh', display: 'flex', flexDirection: 'column' }}>
        {models.data && modelList.length === 0 && (
          <Alert color="yellow" mb="sm" title="No models installed" data-testid="no-models">
            Rendering needs models.{' '}
            <Button size="compact-xs" variant="light" onClick={() => setModelsOpen(true)}>
              Open Models
            </Button>{' '}
            to download one, or run <code>tintype models install</code>.
          </Alert>
        )}
        <div style={{ flex: 1, minHeight: 0 }}>
          {!project ? (
            <Center h="100%">
              <Stack align="center">
                <Text c="dimmed">Start with a project: one per album, box of scans or film reel.</Text>
                <Button onClick={() => setCreating(true)} data-testid="first-project">
                  New project
                </Button>
                <Box maw={560}>
                  <ColorizerOffer where="welcome" />
                </Box>
              </Stack>
            </Center>
          ) : view.kind === 'asset' ? (
            <AssetView
              assetId={view.id}
              neighbours={view.neighbours}
              onNavigate={(id) => setView({ ...view, id })}
              onBack={() => setView({ kind: 'library' })}
              recipe={recipe}
              setRecipe={setRecipe}
              models={modelList}
              onExport={setExportIds}
            />
          ) : (
            <LibraryView
              project={project}
              selection={selection}
              setSelection={setSelection}
              onOpen={(id, neighbours) => setView({ kind: 'asset', id, neighbours })}
              onImport={() => setImportOpen(true)}
              onBatch={() => setBatchOpen(true)}
              onExport={setExportIds}
            />
          )}
        </div>
      </AppShell.Main>

      <ImportPhotosModal
        opened={importOpen}
        onClose={() => setImportOpen(false)}
        projectId={projectId}
        dialogs={dialogs}
      />
      {project && (
        <BatchModal
          opened={batchOpen}
          onClose={() => setBatchOpen(false)}
          projectId={project.id}
          selection={[...selection]}
          recipe={recipe}
          setRecipe={setRecipe}
          models={modelList}
          dialogs={dialogs}
          onStarted={openQueueIfRoom}
        />
      )}
      <ExportModal
        opened={exportIds !== null}
        onClose={() => setExportIds(null)}
        renderIds={exportIds ?? []}
        settings={settings}
        dialogs={dialogs}
        video={info.data?.video ?? false}
      />
      <ModelsModal opened={modelsOpen} onClose={() => setModelsOpen(false)} />
      <SettingsModal
        opened={settingsOpen}
        onClose={() => setSettingsOpen(false)}
        settings={settings}
        onSaved={setSettings}
        info={info.data}
      />
    </AppShell>
  );
}
