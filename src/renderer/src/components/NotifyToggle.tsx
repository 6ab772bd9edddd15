import { ActionIcon, Tooltip } from '@mantine/core';
import { useEffect, useState } from 'react';
import { batchNotice } from '../../../shared/notify';
import { useApi } from '../api/context';
import { IconBell, IconBellOff } from './icons';

const KEY = 'tintype.notify';

/** What the browser allows: notifications exist here, and what the user said to the permission prompt. */
function permission(): NotificationPermission | 'unsupported' {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

/**
 * In a browser (served mode): a bell in the header that asks for the Notification permission (a
 * browser only asks on a click) and, while on, announces the end of long batches and films with the
 * same rule as the desktop app (shared/notify). The desktop app's main process shows OS
 * notifications itself, so there this renders nothing.
 */
export function NotifyToggle() {
  const api = useApi();
  const [perm, setPerm] = useState(permission);
  // On by default once the browser allows it; the user can turn it off here.
  const [wanted, setWanted] = useState(() => localStorage.getItem(KEY) !== 'off');
  const on = wanted && perm === 'granted';

  useEffect(() => {
    if (api.mode !== 'server' || !on) return;
    return api.subscribe((e) => {
      if (e.type !== 'batch-done') return;
      const n = batchNotice(e.batch);
      if (!n) return;
      const note = new Notification(n.title, { body: n.body, tag: `batch-${e.batch.id}` });
      note.onclick = () => {
        window.focus();
        note.close();
      };
    });
  }, [api, on]);

  if (api.mode !== 'server' || perm === 'unsupported') return null;
  const label =
    perm === 'denied'
      ? 'Notifications are blocked for this page (allow them in the browser’s site settings)'
      : on
        ? 'Notify when long batches and films finish: on'
        : 'Notify when long batches and films finish: off';
  return (
    <Tooltip label={label}>
      <ActionIcon
        variant={on ? 'light' : 'subtle'}
        aria-label={label}
        aria-pressed={on}
        disabled={perm === 'denied'}
        data-testid="notify-toggle"
        data-state={on ? 'on' : perm === 'denied' ? 'blocked' : 'off'}
        onClick={async () => {
          if (on) {
            localStorage.setItem(KEY, 'off');
            setWanted(false);
            return;
          }
          localStorage.setItem(KEY, 'on');
          setWanted(true);
          if (perm !== 'granted') setPerm(await Notification.requestPermission());
        }}
      >
        {on ? <IconBell /> : <IconBellOff />}
      </ActionIcon>
    </Tooltip>
  );
}
