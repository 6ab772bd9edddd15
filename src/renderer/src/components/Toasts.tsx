import { Notification, Stack } from '@mantine/core';
import { createContext, useCallback, useContext, useState, type ReactNode } from 'react';

export interface Toast {
  id: number;
  title: string;
  message?: string;
  color?: string;
}

const ToastContext = createContext<(t: Omit<Toast, 'id'>) => void>(() => {});

/** In-app notices (batch finished, import report, errors); they fade after a while. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const notify = useCallback((t: Omit<Toast, 'id'>) => {
    const id = Date.now() + Math.random();
    setToasts((list) => [...list.slice(-3), { ...t, id }]);
    setTimeout(() => setToasts((list) => list.filter((x) => x.id !== id)), t.color === 'red' ? 12_000 : 6000);
  }, []);
  return (
    <ToastContext.Provider value={notify}>
      {children}
      <Stack
        gap="xs"
        // Bottom left: the render history and the queue are on the right, where toasts covered them.
        style={{
          position: 'fixed',
          left: 16,
          bottom: 16,
          width: 360,
          maxWidth: 'calc(100vw - 32px)',
          zIndex: 1000,
        }}
        data-testid="toasts"
      >
        {toasts.map((t) => (
          <Notification
            key={t.id}
            title={t.title}
            color={t.color ?? 'blue'}
            onClose={() => setToasts((l) => l.filter((x) => x.id !== t.id))}
            withBorder
          >
            {t.message}
          </Notification>
        ))}
      </Stack>
    </ToastContext.Provider>
  );
}

export const useToast = () => useContext(ToastContext);
