import { Stack, Text, type ComboboxItem } from '@mantine/core';

/**
 * A model in a select's list: the short name (what the closed field shows), with the rest of its
 * name and its summary beneath, so nothing is cut and nothing is lost.
 */
export interface ModelItem extends ComboboxItem {
  detail?: string | null;
}

export function renderModelOption({ option }: { option: ComboboxItem }) {
  const detail = (option as ModelItem).detail;
  return (
    <Stack gap={0}>
      <Text size="sm">{option.label}</Text>
      {detail && (
        <Text size="xs" c="dimmed">
          {detail}
        </Text>
      )}
    </Stack>
  );
}
