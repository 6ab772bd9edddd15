import { Button, Group, Modal, Text } from '@mantine/core';
import { useCallback, useRef, useState, type ReactNode } from 'react';

interface Ask {
  title: string;
  message: ReactNode;
  confirm: string;
  danger?: boolean;
}

/** A confirmation dialog as a promise: `if (await ask({...})) ...`. */
export function useConfirm(): [ReactNode, (a: Ask) => Promise<boolean>] {
  const [ask, setAsk] = useState<Ask | null>(null);
  const resolver = useRef<((v: boolean) => void) | null>(null);
  const open = useCallback((a: Ask) => {
    setAsk(a);
    return new Promise<boolean>((resolve) => {
      resolver.current = resolve;
    });
  }, []);
  const close = (v: boolean) => {
    resolver.current?.(v);
    resolver.current = null;
    setAsk(null);
  };
  const element = (
    <Modal opened={ask !== null} onClose={() => close(false)} title={ask?.title} centered>
      <Text size="sm">{ask?.message}</Text>
      <Group justify="flex-end" mt="md">
        <Button variant="default" onClick={() => close(false)}>
          Cancel
        </Button>
        <Button
          color={ask?.danger ? 'red' : undefined}
          onClick={() => close(true)}
          data-testid="confirm-button"
        >
          {ask?.confirm}
        </Button>
      </Group>
    </Modal>
  );
  return [element, open];
}
