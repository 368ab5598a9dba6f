import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

/**
 * A text filter (a search box) that sets its value `delayMs` after the last key press, not on each:
 * one request and one history entry per pause in typing. Back (a new `value` from the route) shows
 * what the route holds again.
 */
export function SearchBox(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  delayMs?: number;
  type?: 'search' | 'text';
}) {
  const { value, onChange, delayMs = 300 } = props;
  const [text, setText] = useState(value);
  // What this box last sent: the route echoing it back must not undo what was typed since.
  const sent = useRef(value);
  // The latest onChange without restarting the wait on every render of the page (polls re-render it).
  const change = useRef(onChange);
  change.current = onChange;
  const id = useId();

  useEffect(() => {
    if (value !== sent.current) {
      sent.current = value;
      setText(value);
    }
  }, [value]);

  useEffect(() => {
    const wanted = text.trim();
    if (wanted === sent.current) return;
    const timer = setTimeout(() => {
      sent.current = wanted;
      change.current(wanted);
    }, delayMs);
    return () => clearTimeout(timer);
  }, [text, delayMs]);

  return (
    <div className="filter">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type={props.type ?? 'search'}
        value={text}
        placeholder={props.placeholder}
        autoComplete="off"
        onChange={(event) => setText(event.target.value)}
      />
    </div>
  );
}

/** A filter among fixed choices; the empty value is "any". */
export function FilterSelect(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: ReadonlyArray<string | { value: string; label: string }>;
  anyLabel?: string;
}) {
  const id = useId();
  return (
    <div className="filter">
      <label htmlFor={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(event) => props.onChange(event.target.value)}>
        <option value="">{props.anyLabel ?? 'any'}</option>
        {props.options.map((option) => {
          const { value, label } = typeof option === 'string' ? { value: option, label: option } : option;
          return (
            <option key={value} value={value}>
              {label}
            </option>
          );
        })}
      </select>
    </div>
  );
}

/** A filter's value stays among its choices when the page of choices does not hold it (a shared link). */
export function withCurrent(names: string[], current: string): string[] {
  return current && !names.includes(current) ? [current, ...names] : names;
}

/** A list's filters in a row above it (wrapping on a narrow screen). */
export function Filters({ label, children }: { label: string; children: ReactNode }) {
  return (
    <search className="filters" aria-label={label}>
      {children}
    </search>
  );
}
