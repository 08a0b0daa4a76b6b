import type { ComponentChildren } from 'preact';
import { appUrl, navigate } from '../lib/router.js';

interface LinkProps {
  readonly to: string;
  readonly class?: string;
  readonly title?: string;
  readonly children: ComponentChildren;
}

/** An in-app link: a real `href` (open in a new tab works), navigated without a reload on a plain click. */
export function Link({ to, children, ...rest }: LinkProps) {
  return (
    <a
      href={appUrl(to)}
      {...rest}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
