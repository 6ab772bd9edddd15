import { Button, Group, TextInput } from '@mantine/core';
import { useApi } from '../api/context';

/** A folder path field with a Browse… button where the desktop app offers native dialogs. */
export function FolderField(props: {
  label: string;
  description?: string;
  placeholder?: string;
  value: string;
  onChange: (path: string) => void;
  /** True in the desktop app (native dialogs); the browser UI types paths. */
  dialogs?: boolean;
  testId?: string;
}): React.JSX.Element {
  const api = useApi();
  return (
    <Group align="end" gap="xs">
      <TextInput
        style={{ flex: 1 }}
        label={props.label}
        description={props.description}
        placeholder={props.placeholder}
        value={props.value}
        onChange={(e) => props.onChange(e.currentTarget.value)}
        data-testid={props.testId}
      />
      {props.dialogs && (
        <Button
          variant="default"
          onClick={async () => {
            const r = await api.call('dialog.openFolder', {});
            if (r.paths[0]) props.onChange(r.paths[0]);
          }}
        >
          Browse…
        </Button>
      )}
    </Group>
  );
}
