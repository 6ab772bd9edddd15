import {
  ActionIcon,
  Button,
  Checkbox,
  Group,
  Menu,
  Modal,
  NavLink,
  ScrollArea,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import { useState } from 'react';
import type { Project } from '../../../shared/api';
import { useApi } from '../api/context';
import { plural } from '../format';
import { useConfirm } from './Confirm';
import { IconPencil, IconPlus, IconTrash } from './icons';
import { useToast } from './Toasts';

/** The project list with create, rename and delete. */
export function ProjectList(props: {
  projects: Project[];
  current: number | null;
  onSelect: (id: number) => void;
  /** A new project: it becomes the current one. */
  onCreated: (p: Project) => void;
  creating: boolean;
  setCreating: (v: boolean) => void;
}) {
  const api = useApi();
  const toast = useToast();
  const [name, setName] = useState('');
  const [copy, setCopy] = useState(false);
  const [renaming, setRenaming] = useState<Project | null>(null);
  const [confirmElement, confirm] = useConfirm();

  const create = async () => {
    try {
      const p = await api.call('projects.create', { name, copyOriginals: copy });
      props.setCreating(false);
      setName('');
      props.onCreated(p);
    } catch (err) {
      toast({ title: 'Could not create the project', message: (err as Error).message, color: 'red' });
    }
  };
  const rename = async () => {
    if (!renaming) return;
    try {
      await api.call('projects.rename', { id: renaming.id, name });
      setRenaming(null);
    } catch (err) {
      toast({ title: 'Could not rename', message: (err as Error).message, color: 'red' });
    }
  };
  const remove = async (p: Project) => {
    const ok = await confirm({
      title: `Delete "${p.name}"?`,
      message: `Its ${plural(p.assetCount, 'item')}, renders and thumbnails are removed from the library. Your original photos and films stay where they are.`,
      confirm: 'Delete project',
      danger: true,
    });
    if (!ok) return;
    const r = await api.call('projects.delete', { id: p.id });
    toast({
      title: `Deleted "${p.name}"`,
      message: `${plural(r.removedFiles, 'library file')} removed; originals kept.`,
    });
  };

  return (
    <Stack gap="xs" h="100%">
      <Group justify="space-between">
        <Text fw={600} size="sm">
          Projects
        </Text>
        <ActionIcon
          variant="subtle"
          onClick={() => {
            setName('');
            props.setCreating(true);
          }}
          aria-label="New project"
          data-testid="new-project"
        >
          <IconPlus />
        </ActionIcon>
      </Group>
      <ScrollArea style={{ flex: 1 }} scrollbars="y">
        {props.projects.length === 0 && (
          <Text size="sm" c="dimmed">
            No projects yet.
          </Text>
        )}
        {props.projects.map((p) => (
          <Group key={p.id} gap={0} wrap="nowrap">
            <NavLink
              component="button"
              aria-current={p.id === props.current ? 'page' : undefined}
              active={p.id === props.current}
              label={p.name}
              description={`${plural(p.assetCount, 'item')} · ${p.renderedCount} rendered`}
              onClick={() => props.onSelect(p.id)}
              style={{ borderRadius: 6 }}
              data-testid="project-item"
              data-name={p.name}
            />
            <Menu position="right-start" withinPortal>
              <Menu.Target>
                <ActionIcon
                  variant="subtle"
                  size="sm"
                  aria-label={`Project ${p.name} actions`}
                  data-testid="project-menu"
                >
                  ⋯
                </ActionIcon>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Item
                  leftSection={<IconPencil size={14} />}
                  onClick={() => {
                    setName(p.name);
                    setRenaming(p);
                  }}
                >
                  Rename
                </Menu.Item>
                <Menu.Item
                  color="red"
                  leftSection={<IconTrash size={14} />}
                  onClick={() => void remove(p)}
                  data-testid="delete-project"
                >
                  Delete
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        ))}
      </ScrollArea>

      <Modal opened={props.creating} onClose={() => props.setCreating(false)} title="New project" centered>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void create();
          }}
        >
          <Stack>
            <TextInput
              label="Name"
              placeholder="Grandma's albums"
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              data-autofocus
              data-testid="project-name"
            />
            <Checkbox
              label="Copy originals into the library"
              description="Otherwise Tintype refers to your files where they are (never changing them)."
              checked={copy}
              onChange={(e) => setCopy(e.currentTarget.checked)}
            />
            <Button type="submit" disabled={!name.trim()} data-testid="create-project">
              Create
            </Button>
          </Stack>
        </form>
      </Modal>
      <Modal opened={renaming !== null} onClose={() => setRenaming(null)} title="Rename project" centered>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void rename();
          }}
        >
          <Stack>
            <TextInput
              label="Name"
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              data-autofocus
              data-testid="rename-input"
            />
            <Button type="submit" disabled={!name.trim()}>
              Rename
            </Button>
          </Stack>
        </form>
      </Modal>
      {confirmElement}
    </Stack>
  );
}
